-- The append lock: one appender at a time, so log indexes are gapless and
-- each receipt names its true predecessor. SHARE ROW EXCLUSIVE conflicts with
-- itself and with any INSERT, not with readers (proofs, listings go on).
-- Released at COMMIT or ROLLBACK.
LOCK TABLE receipts IN SHARE ROW EXCLUSIVE MODE
