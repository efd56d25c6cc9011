-- Static API keys for service-to-service calls. Only the SHA-256 of a key is
-- stored: keys are 256 random bits, so a fast hash is enough (no password
-- stretching needed), and a leaked catalog yields no usable key.
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  name         text NOT NULL,
  -- the first characters of the key, so a person can tell which key a log or a config holds
  key_prefix   text NOT NULL,
  key_sha256   text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
  role         text NOT NULL CHECK (role IN ('operator', 'auditor', 'tenant-admin')),
  tenant_id    text,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  -- a tenant admin acts on exactly one tenant; the other roles on none in particular
  CHECK ((role = 'tenant-admin') = (tenant_id IS NOT NULL))
);
