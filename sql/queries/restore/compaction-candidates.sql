-- One tenant's segments ($1), in LSN order, for compaction to cut into runs
-- (src/restore/compaction-plan.ts). Per segment:
--   settled:    indexed before the settle age ($2: an interval), so the live
--               archiver is done with it;
--   gap_before: a recorded archive gap lies between it and the segment
--               before it. Merging those two would span WAL nobody archived:
--               a gap overlaps the pair when it ends after the earlier one
--               starts and starts before the later one ends.
WITH ordered AS (
  SELECT s.*, lag(s.first_lsn) OVER (ORDER BY s.first_lsn, s.last_lsn, s.id) AS previous_first_lsn
  FROM wal_segments s
  WHERE s.tenant_id = $1
)
SELECT o.id::text, o.slot_name, o.bucket, o.object_key,
       o.first_lsn::text, o.last_lsn::text,
       ((extract(epoch FROM o.first_commit_at) * 1000000)::bigint)::text AS first_commit_micros,
       ((extract(epoch FROM o.last_commit_at) * 1000000)::bigint)::text AS last_commit_micros,
       o.transaction_count, o.change_count,
       o.created_at < now() - $2::interval AS settled,
       EXISTS (
         SELECT 1 FROM wal_archive_gaps g
         WHERE g.to_lsn > o.previous_first_lsn AND g.from_lsn < o.last_lsn
       ) AS gap_before
FROM ordered o
ORDER BY o.first_lsn, o.last_lsn, o.id
