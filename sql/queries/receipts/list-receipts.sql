-- A page of receipts in log order; $1 tenant (NULL: all), $2 the last index
-- of the previous page (-1 for the first page), $3 page size.
SELECT id, request_id, tenant_id, log_index, jws, created_at
FROM receipts
WHERE ($1::text IS NULL OR tenant_id = $1)
  AND log_index > $2
ORDER BY log_index
LIMIT $3
