-- The per-credential rate limit, shared by every API replica: one token
-- bucket per credential, taken from by one atomic upsert
-- (sql/queries/http/rate-limit-take.sql). Only the SHA-256 of the credential
-- is kept: a bucket names a credential without holding it.
-- UNLOGGED: a bucket is worth nothing after a crash (it refills within
-- seconds), so its frequent updates skip the WAL; fillfactor leaves room on
-- each page for HOT updates of the same row.
CREATE UNLOGGED TABLE rate_limit_buckets (
  credential_sha256 text PRIMARY KEY CHECK (credential_sha256 ~ '^[0-9a-f]{64}$'),
  -- tokens left at refilled_at; the bucket refills continuously from there
  tokens            double precision NOT NULL,
  refilled_at       timestamptz NOT NULL
) WITH (fillfactor = 70);
