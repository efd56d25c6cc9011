-- Tombstones a tenant ($3 null) or one subject ($3 its keyed hash): $1 tenant id, $2 request id.
-- The first tombstone wins; a repeat returns nothing and the caller reads the existing one.
INSERT INTO tombstones (tenant_id, subject_hash, request_id)
VALUES ($1, $3, $2)
ON CONFLICT (tenant_id, subject_hash) DO NOTHING
RETURNING id, request_id, created_at;
