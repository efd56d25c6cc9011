INSERT INTO receipts (id, request_id, tenant_id, log_index, jws, leaf_hash)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, request_id, tenant_id, log_index, jws, created_at
