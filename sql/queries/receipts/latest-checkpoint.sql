SELECT tree_size, root_hash, note, created_at
FROM checkpoints
ORDER BY tree_size DESC
LIMIT 1
