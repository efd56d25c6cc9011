-- Tenants (and '*', the table-wide segments) with two or more segments
-- indexed before the settle age ($1: an interval): only they can have a run
-- for compaction to merge. $2: only these tenants, when not null.
SELECT tenant_id
FROM wal_segments
WHERE created_at < now() - $1::interval
  AND ($2::text[] IS NULL OR tenant_id = ANY ($2::text[]))
GROUP BY tenant_id
HAVING count(*) >= 2
ORDER BY tenant_id
