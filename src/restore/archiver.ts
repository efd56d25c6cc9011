import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Client, Pool, escapeIdentifier } from 'pg';
import { DataMap } from '../datamap/datamap.types';
import { logger } from '../logger';
import { MARKER_PREFIX, TransactionAssembler } from './assemble';
import { readSlotHealth, SlotHealth, slotLagWarning } from './archiver-health';
import { indexBatch } from './archiver-index';
import { ArchiveGap, ArchiveNames, reconcileSlot } from './archiver-slot';
import { ensureArchiveSource } from './archiver-source';
import { runBounded } from '../export/run-bounded';
import { groupByTenant } from './group-by-tenant';
import { parseLsn } from './lsn';
import { putSegment } from './segment-store';
import { SchemaChangeMarker } from './schema-change';
import { ArchivedTransaction, Relation, Segment } from './wal.types';

export type { ArchiveNames } from './archiver-slot';

export interface ArchiverDependencies {
  /**
   * The application database as a role with REPLICATION. Creating the
   * publication also needs ownership of the tables, and the DDL event
   * triggers a superuser: when the service role lacks them, an operator runs
   * `compliance-ops archiver setup` once and the archiver only checks.
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
  /** warn when safe_wal_size falls under this fraction of max_slot_wal_keep_size (default 0.2) */
  warnSafeWalFraction?: number;
  /** a transaction with more changes than this is archived in parts (default PART_CHANGES; tests set it low) */
  partChanges?: number;
}

export const DEFAULT_ARCHIVE: ArchiveNames = { slot: 'compliance_ops_pitr', publication: 'compliance_ops_pitr' };

/** What one drain archived, and how the slot stands after it. A type: it travels as a Temporal heartbeat and result. */
export type DrainResult = {
  /** end LSN of the last transaction now durable in the archive (the slot is confirmed exactly here) */
  archivedLsn: string;
  transactions: number;
  changes: number;
  segments: number;
  schemaChanges: number;
  /** a gap this drain found (and recorded) before it started */
  gap: ArchiveGap | null;
  /** WAL written since the slot's confirmed LSN, and how much more it may hold before max_slot_wal_keep_size invalidates it (null: unlimited) */
  lagBytes: number | null;
  safeWalBytes: number | null;
  walStatus: string | null;
};

/** The slot vanished or was invalidated during a drain: the next drain records the gap and starts a new slot. */
export class ArchiveGapError extends Error {
  constructor(slot: string, why: string) {
    super(`the WAL archive slot ${slot} ${why}: changes since the last archived LSN are lost. The archiver records the gap and continues on a new slot; restores across the gap are refused until each tenant has a newer snapshot.`);
    this.name = 'ArchiveGapError';
  }
}

/**
 * Rows per peek: whole transactions only, so a peek may run over (one large
 * transaction is all of it). The slot is confirmed once per peek.
 */
const PEEK_MESSAGES = 20_000;
/** Rows fetched from a peek's cursor at a time. */
const FETCH_ROWS = 5000;
/**
 * Changes of whole transactions archived together, one segment per tenant:
 * each segment is a KMS data key and an S3 PUT, so larger batches mean fewer
 * requests per change (and fewer objects for a restore to read).
 */
const BATCH_CHANGES = 20_000;
/**
 * A transaction still being read with more changes than this is archived in
 * parts as it goes (transaction-parts.ts), so a drain holds at most about
 * this many of its changes however large it is (a bulk migration of
 * millions of rows), instead of all of them.
 */
export const PART_CHANGES = 50_000;
/** Segments written at once by a drain. */
const PUT_SEGMENTS = 8;
/** How long a drain waits for another drain of the same slot (a restore's, a second worker's) before giving up. */
const LOCK_TIMEOUT_MS = 120_000;
/** A slot-lag warning at most this often per archiver, however often it drains. */
const WARN_EVERY_MS = 60_000;

/**
 * Owns the archive slot: drains it, writes each tenant's share of the
 * drained transactions as one encrypted segment, indexes the segments in the
 * catalog, and only then confirms the slot (pg_replication_slot_advance to
 * the last archived Commit.end_lsn, exactly: never into a transaction, never
 * lsn+1, never a received-but-not-durable position). A crash before the
 * advance replays the same transactions into the same object keys, which the
 * index and replay recognise by LSN.
 *
 * Reads with pg_logical_slot_peek_binary_changes rather than the streaming
 * protocol: nothing is acknowledged as a side effect of reading, which is
 * the whole acknowledgement problem of streaming clients (research notes §5).
 * Drains of one slot take turns under an advisory lock, so a restore's drain
 * and the supervised archiver (or two workers) never interleave.
 */
export class WalArchiver {
  /** relation shapes seen by this archiver: a changed shape is recorded as a schema change */
  private readonly relations = new Map<number, Relation>();
  private lastWarningAt = 0;

  constructor(private readonly deps: ArchiverDependencies, readonly names: ArchiveNames = DEFAULT_ARCHIVE) {}

  /**
   * The publication and DDL triggers (created if this role may), then the
   * slot (created if missing, a gap recorded if it was lost). Idempotent.
   */
  async ensure(): Promise<{ createdLsn: string; gap: ArchiveGap | null }> {
    const map = await this.deps.loadDataMap();
    const tables = map.tables.filter((t) => t.kind === 'tenant' || t.kind === 'tenants');
    return this.withClient(async (client) => {
      await ensureArchiveSource(client, this.names.publication, tables);
      await this.lock(client);
      const gap = await reconcileSlot(client, this.deps.catalogPool, this.names);
      const { rows } = await this.deps.catalogPool.query<{ created_lsn: string }>('SELECT created_lsn::text FROM wal_archives WHERE slot_name = $1', [this.names.slot]);
      return { createdLsn: rows[0].created_lsn, gap };
    });
  }

  /**
   * Drains the slot up to `untilLsn` (default: a marker written now, which
   * also lets the slot advance past WAL that holds no tenant change) and
   * stops. What tests and restores call; the supervised activity loops on it.
   * `onBatch` hears of every durable batch (the activity heartbeats there).
   */
  async archiveOnce(untilLsn?: string, onBatch?: (progress: DrainResult) => void): Promise<DrainResult> {
    return this.withClient(async (client) => {
      await this.lock(client);
      const gap = await reconcileSlot(client, this.deps.catalogPool, this.names);
      const until = untilLsn ?? (await writeMarker(client));
      const total: DrainResult = {
        archivedLsn: await this.archivedLsn(), transactions: 0, changes: 0, segments: 0, schemaChanges: 0, gap, lagBytes: null, safeWalBytes: null, walStatus: null,
      };
      while (await this.drainPeek(client, until, total, onBatch));
      const health = await readSlotHealth(client, this.names.slot);
      if (!health || health.walStatus === 'lost') throw new ArchiveGapError(this.names.slot, health ? 'was invalidated (max_slot_wal_keep_size)' : 'is gone (dropped, or lost in a failover)');
      this.warnOnLag(health);
      return { ...total, lagBytes: health.lagBytes, safeWalBytes: health.safeWalBytes, walStatus: health.walStatus };
    });
  }

  async archivedLsn(): Promise<string> {
    const { rows } = await this.deps.catalogPool.query<{ archived_lsn: string }>('SELECT archived_lsn::text FROM wal_archives WHERE slot_name = $1', [this.names.slot]);
    if (!rows[0]) throw new Error(`archive slot ${this.names.slot} is not set up: run the archiver once (ensure) first`);
    return rows[0].archived_lsn;
  }

  /** Drops the slot and the publication (tests, decommissioning). The catalog index and the DDL triggers stay. */
  async drop(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.names.slot]);
      await client.query(`DROP PUBLICATION IF EXISTS ${escapeIdentifier(this.names.publication)}`);
    });
  }

  /**
   * One peek of the slot up to `until`, read through a cursor (Postgres
   * materialises the peek and spills it to disk; this process holds one
   * fetch at a time): whole transactions are archived in batches as they
   * complete, a transaction too large to hold is archived in parts while it
   * is read, and the slot is confirmed to the end of the last whole
   * transaction once the peek is done. Returns whether it archived anything.
   */
  private async drainPeek(client: Client, until: string, total: DrainResult, onBatch?: (progress: DrainResult) => void): Promise<boolean> {
    const map = await this.deps.loadDataMap();
    const assembler = new TransactionAssembler(this.relations);
    const partTenants: PartCounters = new Map();
    let confirmed: string | null = null;
    const archiveCompleted = async () => {
      const { transactions, schemaChanges } = assembler.takeCompleted();
      if (transactions.length === 0) return;
      const batch = await this.archiveTransactions(map, assembler.relations, transactions, schemaChanges, partTenants);
      confirmed = batch.archivedLsn;
      total.archivedLsn = batch.archivedLsn;
      total.transactions += batch.transactions;
      total.changes += batch.changes;
      total.segments += batch.segments;
      total.schemaChanges += batch.schemaChanges;
      onBatch?.(total);
    };
    await client.query('BEGIN');
    try {
      await client.query(
        `DECLARE wal NO SCROLL CURSOR FOR SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3, 'proto_version', '1', 'publication_names', $4, 'messages', 'true')`,
        [this.names.slot, until, PEEK_MESSAGES, this.names.publication],
      );
      for (;;) {
        const { rows } = await client.query<{ data: Buffer }>(`FETCH ${FETCH_ROWS} FROM wal`);
        if (rows.length === 0) break;
        for (const { data } of rows) {
          if (!assembler.push(data)) {
            // A relation changes shape: what used the old shape is archived first, then the message is taken.
            await archiveCompleted();
            assembler.push(data);
          }
          if (assembler.openChanges >= (this.deps.partChanges ?? PART_CHANGES)) {
            await archiveCompleted();
            const part = await this.archivePart(map, assembler, partTenants);
            total.changes += part.changes;
            total.segments += part.segments;
            onBatch?.(total);
          }
        }
        if (assembler.completed.reduce((n, tx) => n + tx.changes.length, 0) >= BATCH_CHANGES) await archiveCompleted();
      }
      if (!assembler.betweenTransactions) throw new Error('pgoutput: the decoded batch ends inside a transaction');
      await archiveCompleted();
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
    if (confirmed === null) return false;
    // Only now, with every segment durable and indexed, may the slot forget these transactions.
    await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [this.names.slot, confirmed]);
    for (const [oid, relation] of assembler.relations) this.relations.set(oid, relation);
    return true;
  }

  /** Whole transactions: one segment per tenant, indexed with the archive's new high-water mark. */
  private async archiveTransactions(
    map: DataMap, relations: Map<number, Relation>, transactions: ArchivedTransaction[], schemaChanges: SchemaChangeMarker[], partTenants: PartCounters,
  ) {
    const byTenant = groupByTenant(map, relations, transactions);
    closePartedTransactions(byTenant, transactions, partTenants);
    const segments = await this.putTenantSegments(relations, [...byTenant]);
    const last = transactions[transactions.length - 1];
    await indexBatch(this.deps.catalogPool, { slot: this.names.slot, segments, schemaChanges, archivedLsn: last.endLsn, archivedCommitMicros: last.commitMicros });
    for (const change of schemaChanges) {
      logger.warn({ slot: this.names.slot, table: `${change.schema}.${change.table}`, command: change.command, lsn: change.lsn },
        'schema change in the WAL archive: restores whose replay crosses it are refused for this table; take new snapshots after the migration');
    }
    await this.deps.onDurable?.(last.endLsn);
    return {
      archivedLsn: last.endLsn,
      transactions: transactions.length,
      changes: transactions.reduce((n, tx) => n + tx.changes.length, 0),
      segments: segments.length,
      schemaChanges: schemaChanges.length,
    };
  }

  /** The open transaction's changes so far, as one part per tenant: durable and indexed, but the archive's high-water mark stays put. */
  private async archivePart(map: DataMap, assembler: TransactionAssembler, partTenants: PartCounters): Promise<{ changes: number; segments: number }> {
    const part = assembler.takeOpenPart();
    const counters = partTenants.get(part.commitLsn) ?? new Map<string, number>();
    partTenants.set(part.commitLsn, counters);
    const shares: Array<[string, ArchivedTransaction[]]> = [];
    for (const [tenantId, [share]] of groupByTenant(map, assembler.relations, [part])) {
      // Numbered per tenant: a tenant's parts are 0, 1, 2… whichever of the transaction's parts it had changes in.
      const index = counters.get(tenantId) ?? 0;
      counters.set(tenantId, index + 1);
      shares.push([tenantId, [{ ...share, part: { index, final: false } }]]);
    }
    const segments = await this.putTenantSegments(assembler.relations, shares);
    await indexBatch(this.deps.catalogPool, { slot: this.names.slot, segments, schemaChanges: [] });
    logger.debug({ slot: this.names.slot, commitLsn: part.commitLsn, part: part.part!.index, changes: part.changes.length }, 'large transaction: part archived');
    return { changes: part.changes.length, segments: segments.length };
  }

  /**
   * One segment per tenant, PUT_SEGMENTS at a time: each is a KMS data key
   * and an S3 PUT, so a batch touching twenty tenants written one after the
   * other spent most of a drain waiting. The batch is indexed after all are durable.
   */
  private async putTenantSegments(relations: Map<number, Relation>, shares: Array<[string, ArchivedTransaction[]]>) {
    return runBounded(shares.map(([tenantId, txs]) => async () => {
      const used = new Set(txs.flatMap((tx) => tx.changes.flatMap((c) => (c.op === 'truncate' ? c.rels : [c.rel]))));
      const segment: Segment = { version: 1, tenantId, relations: [...relations.values()].filter((r) => used.has(r.oid)), transactions: txs };
      return { segment, key: await putSegment(this.deps, segment), bucket: this.deps.bucket };
    }), PUT_SEGMENTS);
  }

  /** One drain of this slot at a time, across processes; released when the drain's connection closes (or dies). */
  private async lock(client: Client): Promise<void> {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${LOCK_TIMEOUT_MS}ms`]);
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`compliance-ops wal archive ${this.names.slot}`]);
  }

  private warnOnLag(health: SlotHealth): void {
    const warning = slotLagWarning(health, this.deps.warnSafeWalFraction ?? 0.2);
    if (!warning || Date.now() - this.lastWarningAt < WARN_EVERY_MS) return;
    this.lastWarningAt = Date.now();
    logger.warn({ slot: health.slot, lagBytes: health.lagBytes, safeWalBytes: health.safeWalBytes, walStatus: health.walStatus }, warning);
  }

  /** A connection of its own per drain: the advisory lock and session settings die with it. */
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

/** Per large transaction being read (by commit LSN): how many parts each tenant has so far. */
type PartCounters = Map<string, Map<string, number>>;

/**
 * A large transaction's last part, per tenant: a tenant with earlier parts
 * gets its final part (if need be with no changes: a reader knows the
 * transaction is whole only once it sees it), one with none gets its share
 * as a whole transaction (transaction-parts.ts).
 */
function closePartedTransactions(byTenant: Map<string, ArchivedTransaction[]>, transactions: ArchivedTransaction[], partTenants: PartCounters): void {
  for (const tx of transactions) {
    if (!tx.part?.final) continue;
    const counters = partTenants.get(tx.commitLsn) ?? new Map<string, number>();
    for (const [tenant, list] of byTenant) {
      const i = list.findIndex((t) => t.commitLsn === tx.commitLsn);
      if (i < 0) continue;
      const index = counters.get(tenant);
      const { part: _, ...whole } = list[i];
      list[i] = index === undefined ? whole : { ...whole, part: { index, final: true } };
    }
    for (const [tenant, index] of counters) {
      const list = byTenant.get(tenant) ?? [];
      if (list.some((t) => t.commitLsn === tx.commitLsn)) continue;
      const { part: _, ...whole } = tx;
      list.push({ ...whole, changes: [], part: { index, final: true } });
      list.sort((a, b) => (parseLsn(a.commitLsn) < parseLsn(b.commitLsn) ? -1 : 1));
      byTenant.set(tenant, list);
    }
    partTenants.delete(tx.commitLsn);
  }
}
