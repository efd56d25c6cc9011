-- Two signers racing for the same size both signed the same root; the first stays.
INSERT INTO checkpoints (tree_size, root_hash, note)
VALUES ($1, $2, $3)
ON CONFLICT (tree_size) DO NOTHING
