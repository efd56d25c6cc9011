-- Signed receipts and the transparency log (DESIGN.md, "Signed receipts and
-- the transparency log"). Both tables are append-only: a receipt, once
-- issued, is evidence; a checkpoint, once signed, is a promise about the log.
-- The signed checkpoints copied to the Object Lock bucket are what makes a
-- rewrite by a database superuser detectable; the triggers stop accidents.

-- One row per leaf of the Merkle tree, log_index 0, 1, 2… without gaps
-- (appends are serialised by a table lock, see sql/queries/receipts/lock-log.sql).
CREATE TABLE receipts (
  id          uuid PRIMARY KEY,
  request_id  uuid NOT NULL REFERENCES requests (id),
  tenant_id   text NOT NULL,
  log_index   bigint NOT NULL UNIQUE CHECK (log_index >= 0),
  -- the compact JWS: the evidence itself, and the leaf's content
  jws         text NOT NULL,
  -- SHA-256(0x00 || jws), RFC 6962 §2.1
  leaf_hash   bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- One receipt per request and tenant: issuing again returns the first. An
  -- erasure has one tenant; a retention run receipts each tenant it purged.
  UNIQUE (request_id, tenant_id)
);
CREATE INDEX receipts_tenant ON receipts (tenant_id, log_index);

CREATE TRIGGER receipts_append_only BEFORE UPDATE OR DELETE ON receipts
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER receipts_no_truncate BEFORE TRUNCATE ON receipts
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Signed tree heads, C2SP tlog-checkpoint notes, one per tree size at most.
CREATE TABLE checkpoints (
  tree_size   bigint PRIMARY KEY CHECK (tree_size >= 0),
  root_hash   bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  note        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
