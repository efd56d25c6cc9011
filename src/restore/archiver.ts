import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Client, Pool, escapeIdentifier } from 'pg';
import { DataMap } from '../datamap/datamap.types';
import { assembleTransactions, MARKER_PREFIX } from './assemble';
import { groupByTenant } from './group-by-tenant';
import { putSegment } from './segment-store';
import { Relation, Segment } from './wal.types';

export interface ArchiverDependencies {
  /**
   * The application database as a role with REPLICATION. Creating the
   * publication also needs ownership of the tables (or a superuser): when the
   * service role lacks it, an operator creates the publication once (the
   * error says how) and the archiver only checks it.
   */
  replicationUrl: string;
  catalogPool: Pool;
  s3: S3Client;
  bucket: string;
  sseKmsKeyId: string;
  keyring: KeyringNode;
  loadDataMap(): Promise<DataMap>;
  /** called once a batch is durable and indexed, before the slot is confirmed: metrics, and where tests inject a crash */
  onDurable?(archivedLsn: string): void | Promise<void>;
}

export interface ArchiveNames {
  slot: string;
  publication: string;
}

export const DEFAULT_ARCHIVE: ArchiveNames = { slot: 'compliance_ops_pitr', publication: 'compliance_ops_pitr' };

export interface DrainResult {
  /** end LSN of the last transaction now durable in the archive */
  archivedLsn: string;
  transactions: number;
  changes: number;
  segments: number;
  /** WAL the slot still holds back after the drain, and how much more it may before max_slot_wal_keep_size invalidates it (null: unlimited) */
  lagBytes?: number;
  safeWalBytes?: number | null;
}

/** Warn when the slot may hold back less than this before Postgres invalidates it. */
export const SAFE_WAL_WARNING_BYTES = 512 * 1024 * 1024;

export class ArchiveGapError extends Error {
  constructor(slot: string, why: string) {
    super(`the WAL archive slot ${slot} ${why}: changes since the last archived LSN are lost. Take a new snapshot of every tenant; restores before it are refused.`);
    this.name = 'ArchiveGapError';
  }
}

/** Rows per peek: whole transactions only, so a batch may run over. Bounds memory per drain step. */
const BATCH_MESSAGES = 5000;

/**
 * Owns the archive slot: drains it, writes each tenant's share of the
 * drained transactions as one encrypted segment, indexes the segments in the
 * catalog, and only then confirms the slot (pg_replication_slot_advance to
 * the last archived Commit.end_lsn, exactly: never into a transaction, never
 * lsn+1). A crash before the advance replays the same transactions into the
 * same object keys, which the index and replay recognise by LSN.
 *
 * Reads with pg_logical_slot_peek_binary_changes rather than the streaming
 * protocol: nothing is acknowledged as a side effect of reading, which is
 * the whole acknowledgement problem of streaming clients (research notes §5).
 */
export class WalArchiver {
  /** relation shapes seen by this archiver: a changed shape is a schema change it cannot follow */
  private readonly relations = new Map<number, Relation>();

  constructor(private readonly deps: ArchiverDependencies, private readonly names: ArchiveNames = DEFAULT_ARCHIVE) {}

  /** Creates the publication (over the data map's tenant tables) and the slot if missing; idempotent. */
  async ensure(): Promise<{ createdLsn: string }> {
    const map = await this.deps.loadDataMap();
    const tables = map.tables.filter((t) => t.kind === 'tenant' || t.kind === 'tenants');
    return this.withClient(async (client) => {
      const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [this.names.publication]);
      if (pub.rowCount === 0) {
        const list = tables.map((t) => `${escapeIdentifier(t.schema)}.${escapeIdentifier(t.name)}`).join(', ');
        const sql = `CREATE PUBLICATION ${escapeIdentifier(this.names.publication)} FOR TABLE ${list} WITH (publish = 'insert, update, delete, truncate')`;
        await client.query(sql).catch((error: Error) => {
          throw new Error(`cannot create publication ${this.names.publication} (${error.message}); run as the tables' owner: ${sql}`);
        });
      }
      const recorded = await this.deps.catalogPool.query<{ created_lsn: string }>('SELECT created_lsn::text FROM wal_archives WHERE slot_name = $1', [this.names.slot]);
      const slot = await client.query<{ wal_status: string | null }>('SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1', [this.names.slot]);
      if (slot.rowCount === 0) {
        if (recorded.rowCount) throw new ArchiveGapError(this.names.slot, 'is gone (dropped, or lost in a failover)');
        const created = await client.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [this.names.slot]);
        await this.deps.catalogPool.query(
          `INSERT INTO wal_archives (slot_name, publication, created_lsn, archived_lsn) VALUES ($1, $2, $3, $3) ON CONFLICT (slot_name) DO NOTHING`,
          [this.names.slot, this.names.publication, created.rows[0].lsn],
        );
        return { createdLsn: created.rows[0].lsn };
      }
      if (slot.rows[0].wal_status === 'lost') throw new ArchiveGapError(this.names.slot, 'was invalidated (max_slot_wal_keep_size)');
      if (!recorded.rowCount) throw new Error(`slot ${this.names.slot} exists but the catalog does not know it; drop it or pick another slot name`);
      return { createdLsn: recorded.rows[0].created_lsn };
    });
  }

  /**
   * Drains the slot up to `untilLsn` (default: a marker written now, which
   * also lets the slot advance past WAL that holds no tenant change) and
   * stops. What tests and restores call; the supervised activity loops on it.
   */
  async archiveOnce(untilLsn?: string): Promise<DrainResult> {
    return this.withClient(async (client) => {
      const until = untilLsn ?? (await writeMarker(client));
      const total: DrainResult = { archivedLsn: await this.archivedLsn(), transactions: 0, changes: 0, segments: 0 };
      for (;;) {
        const { rows } = await client.query<{ data: Buffer }>(
          `SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3, 'proto_version', '1', 'publication_names', $4, 'messages', 'true')`,
          [this.names.slot, until, BATCH_MESSAGES, this.names.publication],
        );
        if (rows.length === 0) return { ...total, ...(await this.slotHealth(client)) };
        const batch = await this.archiveBatch(client, rows.map((r) => r.data));
        if (!batch) return { ...total, ...(await this.slotHealth(client)) };
        total.archivedLsn = batch.archivedLsn;
        total.transactions += batch.transactions;
        total.changes += batch.changes;
        total.segments += batch.segments;
      }
    });
  }

  /**
   * Slot lag after a drain, for heartbeats and alerts. A lost slot is a gap
   * in the archive: stop loudly rather than archive around it.
   */
  private async slotHealth(client: Client): Promise<{ lagBytes: number; safeWalBytes: number | null }> {
    const { rows } = await client.query<{ wal_status: string | null; lag: string; safe: string | null }>(
      `SELECT wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS lag, safe_wal_size::text AS safe
       FROM pg_replication_slots WHERE slot_name = $1`, [this.names.slot]);
    if (!rows[0]) throw new ArchiveGapError(this.names.slot, 'is gone (dropped, or lost in a failover)');
    if (rows[0].wal_status === 'lost') throw new ArchiveGapError(this.names.slot, 'was invalidated (max_slot_wal_keep_size)');
    const safeWalBytes = rows[0].safe === null ? null : Number(rows[0].safe);
    if (safeWalBytes !== null && safeWalBytes < SAFE_WAL_WARNING_BYTES) {
      process.emitWarning(`WAL archive slot ${this.names.slot} is ${safeWalBytes} bytes from invalidation by max_slot_wal_keep_size`, 'ArchiveSlotLag');
    }
    return { lagBytes: Number(rows[0].lag), safeWalBytes };
  }

  async archivedLsn(): Promise<string> {
    const { rows } = await this.deps.catalogPool.query<{ archived_lsn: string }>('SELECT archived_lsn::text FROM wal_archives WHERE slot_name = $1', [this.names.slot]);
    if (!rows[0]) throw new Error(`archive slot ${this.names.slot} is not set up: run the archiver once (ensure) first`);
    return rows[0].archived_lsn;
  }

  /** Drops the slot and the publication (tests, decommissioning). The catalog index stays. */
  async drop(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.names.slot]);
      await client.query(`DROP PUBLICATION IF EXISTS ${escapeIdentifier(this.names.publication)}`);
    });
  }

  private async archiveBatch(client: Client, messages: Buffer[]): Promise<DrainResult | null> {
    const map = await this.deps.loadDataMap();
    const { transactions, relations } = assembleTransactions(messages, this.relations);
    if (transactions.length === 0) return null;
    const byTenant = groupByTenant(map, relations, transactions);
    const written: Array<{ segment: Segment; key: string }> = [];
    for (const [tenantId, txs] of byTenant) {
      const used = new Set(txs.flatMap((tx) => tx.changes.flatMap((c) => (c.op === 'truncate' ? c.rels : [c.rel]))));
      const segment: Segment = { version: 1, tenantId, relations: [...relations.values()].filter((r) => used.has(r.oid)), transactions: txs };
      written.push({ segment, key: await putSegment(this.deps, segment) });
    }
    const last = transactions[transactions.length - 1].endLsn;
    await this.recordSegments(written, last);
    await this.deps.onDurable?.(last);
    // Only now, with every segment durable and indexed, may the slot forget these transactions.
    await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [this.names.slot, last]);
    for (const [oid, relation] of relations) this.relations.set(oid, relation);
    return {
      archivedLsn: last,
      transactions: transactions.length,
      changes: transactions.reduce((n, tx) => n + tx.changes.length, 0),
      segments: written.length,
    };
  }

  private async recordSegments(written: Array<{ segment: Segment; key: string }>, archivedLsn: string): Promise<void> {
    const client = await this.deps.catalogPool.connect();
    try {
      await client.query('BEGIN');
      for (const { segment, key } of written) {
        const txs = segment.transactions;
        await client.query(
          `INSERT INTO wal_segments (slot_name, tenant_id, first_lsn, last_lsn, first_commit_at, last_commit_at, transaction_count, change_count, bucket, object_key)
           VALUES ($1, $2, $3, $4, to_timestamp($5::numeric / 1e6), to_timestamp($6::numeric / 1e6), $7, $8, $9, $10)
           ON CONFLICT (object_key) DO NOTHING`,
          [
            this.names.slot, segment.tenantId, txs[0].commitLsn, txs[txs.length - 1].endLsn,
            minMicros(txs.map((t) => t.commitMicros)), maxMicros(txs.map((t) => t.commitMicros)),
            txs.length, txs.reduce((n, t) => n + t.changes.length, 0), this.deps.bucket, key,
          ],
        );
      }
      // Never move backwards: a repeated drain after a crash re-archives what is already there.
      await client.query(
        `UPDATE wal_archives SET archived_lsn = greatest(archived_lsn, $2::pg_lsn), archived_at = now() WHERE slot_name = $1`,
        [this.names.slot, archivedLsn],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: this.deps.replicationUrl, application_name: 'compliance-ops wal-archiver' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * A transactional logical message: a commit the slot decodes even when no
 * tenant table changed, so a drain up to it moves the slot past unrelated WAL
 * (a quiet database would otherwise pin WAL forever). Returns the LSN after it.
 */
async function writeMarker(client: Client): Promise<string> {
  await client.query(`SELECT pg_logical_emit_message(true, $1, '')`, [`${MARKER_PREFIX}.mark`]);
  const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0].lsn;
}

const minMicros = (xs: string[]) => xs.reduce((a, b) => (BigInt(a) <= BigInt(b) ? a : b));
const maxMicros = (xs: string[]) => xs.reduce((a, b) => (BigInt(a) >= BigInt(b) ? a : b));

