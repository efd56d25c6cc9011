-- One tenant's ($1) objects waiting in wal_segment_deletes whose time has
-- come, oldest first, at most $2; `indexed` when a catalog row names the key
-- (the merge committed, or a repeated drain indexed it again): those objects
-- are in use and only their wal_segment_deletes row goes.
SELECT d.object_key, d.bucket,
       EXISTS (SELECT 1 FROM wal_segments s WHERE s.object_key = d.object_key) AS indexed
FROM wal_segment_deletes d
WHERE d.tenant_id = $1 AND d.delete_after <= now()
ORDER BY d.delete_after, d.object_key
LIMIT $2
