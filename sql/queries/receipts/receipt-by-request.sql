SELECT id, request_id, tenant_id, log_index, jws, created_at
FROM receipts
WHERE request_id = $1
  AND tenant_id = $2
