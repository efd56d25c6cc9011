-- $1 tenant id.
SELECT hash_key, shredded_at FROM tenant_hash_keys WHERE tenant_id = $1;
