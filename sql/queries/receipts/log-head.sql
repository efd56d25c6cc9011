-- The last leaf: its index and JWS (the next receipt's predecessor).
SELECT log_index, jws
FROM receipts
ORDER BY log_index DESC
LIMIT 1
