-- Records a purge's scope once: $1 request id, $2 tenant id, $3 target, $4 subject keys.
-- A second count of the same request inserts nothing; the caller then reads the first.
INSERT INTO purge_scopes (request_id, tenant_id, target, subject_keys)
VALUES ($1, $2, $3, $4)
ON CONFLICT (request_id, tenant_id) DO NOTHING
RETURNING counted_at;
