-- The supervised WAL archiver: what it knows about the continuity of the
-- archive (gaps) and about schema changes it cannot replay across.

-- The commit time of the transaction ending at archived_lsn: a gap found
-- later starts after it, so a restore to a time before it is still whole.
ALTER TABLE wal_archives ADD COLUMN archived_commit_at timestamptz;

-- A stretch of WAL the archive does not hold: the slot was invalidated
-- (max_slot_wal_keep_size), dropped, recreated or advanced by someone else.
-- Transactions committing from from_lsn (after from_commit_at) up to to_lsn
-- are lost to the archive; a restore whose replay would cross the gap is
-- refused, and only a snapshot taken after to_lsn can be replayed forward.
CREATE TABLE wal_archive_gaps (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slot_name       text NOT NULL REFERENCES wal_archives (slot_name),
  from_lsn        pg_lsn NOT NULL,
  from_commit_at  timestamptz,
  to_lsn          pg_lsn NOT NULL,
  reason          text NOT NULL,
  detected_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (to_lsn >= from_lsn)
);
CREATE INDEX wal_archive_gaps_slot_idx ON wal_archive_gaps (slot_name, to_lsn);

-- A schema change of an archived table, seen in the WAL: a DDL marker the
-- event trigger emitted (pg_logical_emit_message 'compliance-ops.ddl'), or
-- a relation whose columns changed between two decoded transactions. Replay
-- across one would apply rows of one shape to tables of another: refused.
CREATE TABLE wal_schema_changes (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slot_name     text NOT NULL REFERENCES wal_archives (slot_name),
  -- the marker's own LSN (the logical message, or the Begin of the first transaction with the new shape)
  lsn           pg_lsn NOT NULL,
  -- the transaction that made the change: its xid, the start and end of its commit record, its commit time
  xid           bigint NOT NULL,
  commit_lsn    pg_lsn NOT NULL,
  end_lsn       pg_lsn NOT NULL,
  committed_at  timestamptz NOT NULL,
  schema_name   text NOT NULL,
  table_name    text NOT NULL,
  command_tag   text NOT NULL,
  object_identity text NOT NULL,
  statement     text,
  source        text NOT NULL CHECK (source IN ('event-trigger', 'relation')),
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  -- a drain repeated after a crash records the same marker again: once is enough
  UNIQUE (slot_name, lsn, schema_name, table_name, command_tag)
);
CREATE INDEX wal_schema_changes_slot_commit_idx ON wal_schema_changes (slot_name, commit_lsn);
