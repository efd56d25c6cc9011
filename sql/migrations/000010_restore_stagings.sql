-- Restore staging schemas: every one a restore creates in the application
-- database, from the moment it is created until it is dropped.
--
-- A staging schema is a full copy of one tenant's rows. It must not outlive
-- its use (it expires), nor escape an erasure (a subject erasure erases the
-- subject in it again, a tenant erasure drops it), so each is known here.
CREATE TABLE restore_stagings (
  restore_id   uuid PRIMARY KEY,               -- the restore request's id
  tenant_id    text NOT NULL,
  schema_name  text NOT NULL UNIQUE,
  -- loading: being built (or the restore failed: kept for inspection until it expires)
  -- staged: checked, waiting to be promoted or dropped
  -- promoted: swapped in (in place, or promoted later); the schema is dropped
  -- dropped: dropped on request, on expiry, or by a tenant erasure
  state        text NOT NULL CHECK (state IN ('loading', 'staged', 'promoted', 'dropped')),
  -- what the restore reproduced (target, snapshot, rows per table): a promote checks the schema still holds it
  result       jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  ended_by     text
);
CREATE INDEX restore_stagings_live_idx ON restore_stagings (tenant_id) WHERE state IN ('loading', 'staged');
CREATE INDEX restore_stagings_expiry_idx ON restore_stagings (expires_at) WHERE state IN ('loading', 'staged');
