-- Forgets buckets idle for longer than $1 seconds: by then they are full
-- again, and a full bucket is the same as no bucket.
DELETE FROM rate_limit_buckets WHERE refilled_at < clock_timestamp() - make_interval(secs => $1::float8)
