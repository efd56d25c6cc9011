-- PITR window retention and the snapshot schedule.
--
-- Retention looks for each tenant's anchor (its newest snapshot taken at or
-- before the window start) and for segments committed before the window
-- start; without these it reads both tables whole on every scheduled run.
CREATE INDEX restore_snapshots_tenant_taken_idx ON restore_snapshots (tenant_id, taken_at);
CREATE INDEX wal_segments_last_commit_idx ON wal_segments (last_commit_at);
