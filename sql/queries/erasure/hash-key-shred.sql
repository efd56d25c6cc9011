-- Destroys the tenant's hash key: its keyed hashes can no longer be linked to
-- any value. Idempotent; a tenant that never had a key gets a shredded row,
-- so none is ever created for it later. $1 tenant id.
INSERT INTO tenant_hash_keys (tenant_id, hash_key, shredded_at) VALUES ($1, NULL, now())
ON CONFLICT (tenant_id) DO UPDATE SET hash_key = NULL, shredded_at = coalesce(tenant_hash_keys.shredded_at, now())
RETURNING shredded_at;
