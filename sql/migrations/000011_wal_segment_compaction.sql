-- WAL segment compaction (src/restore/segment-compaction.ts) merges runs of
-- small segments into one. The objects it replaces, and the merged object it
-- is about to write, are deleted later, from here, never at once:
--
-- - a compacted input: a restore that listed it before the merge was
--   committed may still GET it, so it stays until delete_after (the grace
--   period, longer than a restore's read of the archive);
-- - a merged object being written: should the merge never commit (a crash,
--   the inputs pruned or shredded meanwhile), no catalog row names it and
--   nothing else would ever delete it.
--
-- A due row whose key a wal_segments row names (the merge committed, or a
-- repeated drain indexed the key again) only leaves this table: objects the
-- index names are never deleted from here.
CREATE TABLE wal_segment_deletes (
  object_key    text PRIMARY KEY,
  bucket        text NOT NULL,
  tenant_id     text NOT NULL,
  reason        text NOT NULL CHECK (reason IN ('compacted', 'merge-in-progress')),
  delete_after  timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wal_segment_deletes_due_idx ON wal_segment_deletes (delete_after);
CREATE INDEX wal_segment_deletes_tenant_idx ON wal_segment_deletes (tenant_id);
