-- Takes one token from a credential's bucket ($1: its SHA-256), refilled at
-- $2 tokens a second up to $3, in one statement. Every API replica's request
-- for the same credential locks the same row, so together they never take
-- more than the bucket holds. An empty bucket fails the DO UPDATE's WHERE:
-- nothing changes and `taken` is empty (refused). The outer SELECT sees the
-- bucket as it was before this statement: enough to say when to retry.
-- Time is the database's clock, the one clock all replicas share.
WITH taken AS (
  INSERT INTO rate_limit_buckets AS b (credential_sha256, tokens, refilled_at)
  VALUES ($1, $3::float8 - 1, clock_timestamp())
  ON CONFLICT (credential_sha256) DO UPDATE
     SET tokens = least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.refilled_at)::float8 * $2::float8) - 1,
         refilled_at = clock_timestamp()
   WHERE least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.refilled_at)::float8 * $2::float8) >= 1
  RETURNING tokens
)
SELECT EXISTS (SELECT FROM taken) AS allowed,
       (SELECT least($3::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at)::float8 * $2::float8)
          FROM rate_limit_buckets
         WHERE credential_sha256 = $1) AS tokens_left
