-- Every leaf hash in log order: one statement, so one snapshot of the log.
SELECT log_index, leaf_hash
FROM receipts
ORDER BY log_index
