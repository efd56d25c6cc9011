-- Creates the tenant's hash key unless it has one, or had one (shredded keys stay shredded):
-- $1 tenant id, $2 32 random bytes.
INSERT INTO tenant_hash_keys (tenant_id, hash_key) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO NOTHING;
