SELECT id, request_id, tenant_id, log_index, jws, created_at
FROM receipts
WHERE id = $1
