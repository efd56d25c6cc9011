-- The tombstone of a tenant ($2 null) or of one subject ($2 its keyed hash): $1 tenant id.
SELECT id, request_id, created_at FROM tombstones
WHERE tenant_id = $1 AND subject_hash IS NOT DISTINCT FROM $2;
