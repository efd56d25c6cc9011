import { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { sqlQuery } from '../db/sql-files';
import { leafHash } from './merkle';
import { receiptLeaf } from './sign';

const sql = (name: string) => sqlQuery('receipts', `${name}.sql`);

export interface StoredReceipt {
  id: string;
  requestId: string;
  tenantId: string;
  logIndex: number;
  jws: string;
  createdAt: Date;
}

export interface StoredCheckpoint {
  size: number;
  rootHash: Buffer;
  note: string;
}

/** Where the next leaf goes, and the leaf before it (null for the first). */
export interface AppendPosition {
  index: number;
  previous: { index: number; jws: string } | null;
}

interface ReceiptRow { id: string; request_id: string; tenant_id: string; log_index: string; jws: string; created_at: Date }
interface CheckpointRow { tree_size: string; root_hash: Buffer; note: string }

const toReceipt = (row: ReceiptRow): StoredReceipt => ({
  id: row.id, requestId: row.request_id, tenantId: row.tenant_id, logIndex: Number(row.log_index), jws: row.jws, createdAt: row.created_at,
});
const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({ size: Number(row.tree_size), rootHash: row.root_hash, note: row.note });

/** The catalog's receipts table (the log's leaves) and its signed checkpoints. */
export class ReceiptLogRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Appends one receipt for the request and tenant, or returns the one
   * already there (`created: false`). `sign` runs under the append lock,
   * because the receipt it signs names its own index and its predecessor's
   * digest: the lock is held for one KMS call.
   */
  async append(
    requestId: string,
    tenantId: string,
    sign: (position: AppendPosition) => Promise<{ id: string; jws: string }>,
  ): Promise<{ receipt: StoredReceipt; created: boolean }> {
    return withTransaction(this.pool, async (client) => {
      // READ COMMITTED (withTransaction's default): each statement after the lock sees the last committed leaf.
      await client.query(sql('lock-log'));
      const existing = await this.byRequestWith(client, requestId, tenantId);
      if (existing) return { receipt: existing, created: false };
      const { rows: [head] } = await client.query<{ log_index: string; jws: string }>(sql('log-head'));
      const previous = head ? { index: Number(head.log_index), jws: head.jws } : null;
      const index = previous ? previous.index + 1 : 0;
      const leaf = await sign({ index, previous });
      const { rows } = await client.query<ReceiptRow>(sql('insert-receipt'),
        [leaf.id, requestId, tenantId, index, leaf.jws, leafHash(receiptLeaf(leaf.jws))]);
      return { receipt: toReceipt(rows[0]), created: true };
    });
  }

  async byId(id: string): Promise<StoredReceipt | null> {
    const { rows } = await this.pool.query<ReceiptRow>(sql('receipt-by-id'), [id]);
    return rows[0] ? toReceipt(rows[0]) : null;
  }

  async byRequest(requestId: string, tenantId: string): Promise<StoredReceipt | null> {
    return this.byRequestWith(this.pool, requestId, tenantId);
  }

  /** A page in log order after `afterIndex` (exclusive), optionally one tenant's. */
  async list(filter: { tenantId?: string; afterIndex?: number; limit: number }): Promise<StoredReceipt[]> {
    const { rows } = await this.pool.query<ReceiptRow>(sql('list-receipts'),
      [filter.tenantId ?? null, filter.afterIndex ?? -1, filter.limit]);
    return rows.map(toReceipt);
  }

  /**
   * Every leaf hash, in order, read in one snapshot. Refuses a log with a gap
   * or a duplicate: proofs over it would be wrong, and the gap is the news.
   */
  async leafHashes(): Promise<Buffer[]> {
    const { rows } = await this.pool.query<{ log_index: string; leaf_hash: Buffer }>(sql('leaf-hashes'));
    rows.forEach((row, i) => {
      if (Number(row.log_index) !== i) throw new Error(`the receipt log is broken: position ${i} holds log index ${row.log_index}`);
    });
    return rows.map((row) => row.leaf_hash);
  }

  async checkpoint(size: number): Promise<StoredCheckpoint | null> {
    const { rows } = await this.pool.query<CheckpointRow>(sql('checkpoint-by-size'), [size]);
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const { rows } = await this.pool.query<CheckpointRow>(sql('latest-checkpoint'));
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  /** Stores a signed checkpoint; if one for that size exists already, that one is returned. */
  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<StoredCheckpoint> {
    await this.pool.query(sql('insert-checkpoint'), [checkpoint.size, checkpoint.rootHash, checkpoint.note]);
    const stored = await this.checkpoint(checkpoint.size);
    if (!stored) throw new Error(`checkpoint ${checkpoint.size} vanished after it was saved`);
    return stored;
  }

  private async byRequestWith(client: Pool | PoolClient, requestId: string, tenantId: string): Promise<StoredReceipt | null> {
    const { rows } = await client.query<ReceiptRow>(sql('receipt-by-request'), [requestId, tenantId]);
    return rows[0] ? toReceipt(rows[0]) : null;
  }
}
