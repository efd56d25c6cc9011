-- Single-tenant point-in-time restore: the WAL archive's slot and segments,
-- and per-tenant snapshots. LSNs are the application database's.

-- One row per archive slot the service owns. archived_lsn is the end LSN of
-- the last transaction whose segment is durable: the slot is never confirmed
-- beyond it, and no restore target beyond it is accepted.
CREATE TABLE wal_archives (
  slot_name     text PRIMARY KEY,
  publication   text NOT NULL,
  created_lsn   pg_lsn NOT NULL,
  archived_lsn  pg_lsn NOT NULL,
  archived_at   timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- One encrypted segment: a tenant's transactions from one drain of the slot.
-- tenant_id '*' holds table-wide changes (TRUNCATE) every tenant's replay reads.
CREATE TABLE wal_segments (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slot_name          text NOT NULL REFERENCES wal_archives (slot_name),
  tenant_id          text NOT NULL,
  first_lsn          pg_lsn NOT NULL,
  last_lsn           pg_lsn NOT NULL,
  first_commit_at    timestamptz NOT NULL,
  last_commit_at     timestamptz NOT NULL,
  transaction_count  integer NOT NULL,
  change_count       integer NOT NULL,
  bucket             text NOT NULL,
  object_key         text NOT NULL UNIQUE,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wal_segments_tenant_lsn_idx ON wal_segments (tenant_id, last_lsn);

-- A tenant snapshot: an export plus the visibility that says exactly which
-- transactions it contains (pg_current_snapshot() of its transaction).
CREATE TABLE restore_snapshots (
  id            uuid PRIMARY KEY,
  tenant_id     text NOT NULL,
  taken_at      timestamptz NOT NULL,
  lsn           pg_lsn NOT NULL,
  snapshot_xmin xid8 NOT NULL,
  snapshot_xmax xid8 NOT NULL,
  snapshot_xip  xid8[] NOT NULL,
  bucket        text NOT NULL,
  prefix        text NOT NULL,
  rows          bigint NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX restore_snapshots_tenant_lsn_idx ON restore_snapshots (tenant_id, lsn);
