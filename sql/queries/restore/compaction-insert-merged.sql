-- The merged segment's index row, in the transaction that deletes its inputs
-- ($11: their ids). Commit times go in as exact microseconds since the Unix
-- epoch, as the archiver indexes them. created_at is the newest input's: it
-- says when the archive wrote these transactions (archiver status reports it
-- as the last segment), not when compaction rewrote them.
INSERT INTO wal_segments (slot_name, tenant_id, first_lsn, last_lsn, first_commit_at, last_commit_at,
                          transaction_count, change_count, bucket, object_key, created_at)
SELECT $1, $2, $3::pg_lsn, $4::pg_lsn,
       timestamptz 'epoch' + $5::bigint * interval '1 microsecond',
       timestamptz 'epoch' + $6::bigint * interval '1 microsecond',
       $7, $8, $9, $10,
       (SELECT max(created_at) FROM wal_segments WHERE id = ANY ($11::bigint[]))
