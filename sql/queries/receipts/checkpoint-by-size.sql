SELECT tree_size, root_hash, note, created_at
FROM checkpoints
WHERE tree_size = $1
