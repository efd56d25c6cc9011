-- The service's own catalog: every request the service accepts, its audit
-- trail, legal holds and tombstones. Lives in its own database, never in the
-- application's.

-- A request: one export, erasure, restore or retention run, and its workflow.
CREATE TABLE requests (
  id               uuid PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('export', 'erasure', 'restore', 'retention', 'snapshot')),
  tenant_id        text,
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN
                     ('queued', 'running', 'waiting_grace', 'blocked_legal_hold', 'succeeded', 'failed', 'cancelled')),
  params           jsonb NOT NULL DEFAULT '{}',
  progress         jsonb,
  result           jsonb,
  error            jsonb,
  receipt_id       uuid,
  workflow_id      text NOT NULL UNIQUE,
  requested_by     text NOT NULL,
  idempotency_key  text,
  body_sha256      text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- The same caller reusing a key gets the first request back.
  UNIQUE (requested_by, idempotency_key)
);
CREATE INDEX requests_tenant_kind ON requests (tenant_id, kind, created_at DESC);
CREATE INDEX requests_status ON requests (status, created_at DESC);

-- Append-only trail: who asked for what, from where, and every state change.
CREATE TABLE request_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id   uuid REFERENCES requests (id),
  at           timestamptz NOT NULL DEFAULT now(),
  actor        text NOT NULL,
  event        text NOT NULL,
  from_status  text,
  to_status    text,
  details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX request_events_request ON request_events (request_id, id);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER request_events_append_only BEFORE UPDATE OR DELETE ON request_events
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A legal hold blocks erasure and retention for a tenant until it is lifted.
CREATE TABLE legal_holds (
  tenant_id   text PRIMARY KEY,
  reason      text NOT NULL,
  placed_by   text NOT NULL,
  placed_at   timestamptz NOT NULL DEFAULT now()
);

-- A tombstone says "this was erased": restores and imports refuse to bring it back.
-- subject_hash is a keyed hash of the subject's identifier, never the identifier itself.
CREATE TABLE tombstones (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL,
  subject_hash  text,
  request_id    uuid NOT NULL REFERENCES requests (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (tenant_id, subject_hash)
);
