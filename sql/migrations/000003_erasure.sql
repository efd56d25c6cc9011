-- Erasure and retention purges: what a purge counted before it touched a
-- row, and the per-tenant keys that hash personal values.

-- One purge's scope inside one tenant, counted once, in one snapshot, before
-- the first batch. The receipt's counts come from here: rows are counted
-- when they exist, not when a batch reports them, so a crash between a
-- batch's COMMIT and its progress report cannot lose or double count one.
-- A retried count finds its row and returns it instead of counting again.
CREATE TABLE purge_scopes (
  request_id    uuid NOT NULL REFERENCES requests (id),
  tenant_id     text NOT NULL,
  -- kind and, for retention, table, age column, cutoff; never a subject's identifier
  target        jsonb NOT NULL,
  -- the subject's primary keys (JSON array), so every later step matches the
  -- same rows even after the subject's own row is gone; null for other targets
  subject_keys  text,
  counted_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, tenant_id)
);

CREATE TABLE purge_counts (
  request_id     uuid NOT NULL,
  tenant_id      text NOT NULL,
  step           integer NOT NULL CHECK (step >= 0),
  table_schema   text NOT NULL,
  table_name     text NOT NULL,
  action         text NOT NULL CHECK (action IN ('delete', 'anonymize')),
  -- rows the purge deletes or anonymizes
  pending_rows   bigint NOT NULL CHECK (pending_rows >= 0),
  -- rows in scope kept because rows the law keeps reference them
  retained_rows  bigint NOT NULL CHECK (retained_rows >= 0),
  -- rows in scope already anonymized before the purge began
  kept_rows      bigint NOT NULL CHECK (kept_rows >= 0),
  PRIMARY KEY (request_id, tenant_id, step),
  FOREIGN KEY (request_id, tenant_id) REFERENCES purge_scopes (request_id, tenant_id)
);

-- The key of the keyed hashes anonymization writes into kept rows (an
-- invoice's e-mail), one per tenant. Stored, unlike the derived subject-hash
-- salt of receipts and tombstones, so that it can be destroyed: once a
-- tenant is erased and its key shredded, those hashes link to no one.
-- Shredding sets hash_key to null and keeps the row: a shredded key must
-- stay shredded, never be quietly created again.
CREATE TABLE tenant_hash_keys (
  tenant_id    text PRIMARY KEY,
  hash_key     bytea CHECK (hash_key IS NULL OR length(hash_key) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  shredded_at  timestamptz,
  CHECK ((hash_key IS NULL) = (shredded_at IS NOT NULL))
);
