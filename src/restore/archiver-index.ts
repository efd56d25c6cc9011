import { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { SchemaChangeMarker } from './schema-change';
import { segmentEndLsn } from './segment-store';
import { Segment } from './wal.types';

export interface IndexedBatch {
  slot: string;
  segments: Array<{ segment: Segment; key: string; bucket: string }>;
  schemaChanges: SchemaChangeMarker[];
  /** end LSN and commit time (µs) of the batch's last transaction: what the slot is confirmed to next (none for a part of a large transaction) */
  archivedLsn?: string;
  archivedCommitMicros?: string;
}

/**
 * Indexes a durable batch in one catalog transaction: its segments, its
 * schema-change markers and the archive's new high-water mark. Everything is
 * keyed so that a batch repeated after a crash (same transactions, same
 * object keys, same marker LSNs) adds nothing. Commit times go in as exact
 * microseconds since the Unix epoch (to_timestamp(double) can be 1 µs off).
 */
export async function indexBatch(catalogPool: Pool, batch: IndexedBatch): Promise<void> {
  await withTransaction(catalogPool, async (client) => {
    for (const s of batch.segments) await insertSegment(client, batch.slot, s);
    for (const marker of batch.schemaChanges) await insertSchemaChange(client, batch.slot, marker);
    if (batch.archivedLsn === undefined) return;
    // Never backwards: a drain repeated after a crash re-archives what is already there.
    await client.query(
      `UPDATE wal_archives
       SET archived_commit_at = CASE WHEN $2::pg_lsn >= archived_lsn THEN timestamptz 'epoch' + $3::bigint * interval '1 microsecond' ELSE archived_commit_at END,
           archived_lsn = greatest(archived_lsn, $2::pg_lsn), archived_at = now()
       WHERE slot_name = $1`,
      [batch.slot, batch.archivedLsn, batch.archivedCommitMicros],
    );
  });
}

async function insertSegment(client: PoolClient, slot: string, { segment, key, bucket }: IndexedBatch['segments'][number]): Promise<void> {
  const txs = segment.transactions;
  const micros = txs.map((t) => BigInt(t.commitMicros));
  const min = micros.reduce((a, b) => (a <= b ? a : b));
  const max = micros.reduce((a, b) => (a >= b ? a : b));
  await client.query(
    `INSERT INTO wal_segments (slot_name, tenant_id, first_lsn, last_lsn, first_commit_at, last_commit_at, transaction_count, change_count, bucket, object_key)
     VALUES ($1, $2, $3, $4, timestamptz 'epoch' + $5::bigint * interval '1 microsecond', timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7, $8, $9, $10)
     ON CONFLICT (object_key) DO NOTHING`,
    [slot, segment.tenantId, txs[0].commitLsn, segmentEndLsn(segment), min.toString(), max.toString(),
      txs.length, txs.reduce((n, t) => n + t.changes.length, 0), bucket, key],
  );
}

async function insertSchemaChange(client: PoolClient, slot: string, m: SchemaChangeMarker): Promise<void> {
  await client.query(
    `INSERT INTO wal_schema_changes (slot_name, lsn, xid, commit_lsn, end_lsn, committed_at, schema_name, table_name, command_tag, object_identity, statement, source)
     VALUES ($1, $2, $3, $4, $5, timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7, $8, $9, $10, $11, $12)
     ON CONFLICT (slot_name, lsn, schema_name, table_name, command_tag) DO NOTHING`,
    [slot, m.lsn, m.xid, m.commitLsn, m.endLsn, m.commitMicros, m.schema, m.table, m.command, m.identity, m.statement, m.source],
  );
}
