-- Snapshots taken before the window start $1 that are not an anchor ($2, see
-- archive-anchors.sql): each is older than its tenant's anchor, so no
-- restore inside the window loads it.
SELECT id, tenant_id, bucket, prefix
FROM restore_snapshots
WHERE taken_at <= $1 AND NOT (id = ANY ($2::uuid[]))
ORDER BY tenant_id, taken_at
