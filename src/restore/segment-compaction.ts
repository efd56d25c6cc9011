import { S3Client } from '@aws-sdk/client-s3';
import { Pool, PoolClient } from 'pg';
import { Config } from '../config';
import { kmsKeyring } from '../kms/keyring';
import { sqlQuery } from '../db/sql-files';
import { runBounded } from '../export/run-bounded';
import { logger } from '../logger';
import { inTransaction, withArchiveTenantLock } from './archive-tenant-lock';
import { IndexedSegment, planRuns } from './compaction-plan';
import { cancelDelete, scheduleDeletes, sweepSegmentDeletes } from './segment-deletes';
import { groupMergeable, mergeSegments } from './segment-merge';
import { getSegment, mergedSegmentKey, putSegment, segmentEndLsn, SegmentStoreEnvironment } from './segment-store';
import { Segment } from './wal.types';

/*
 * WAL segment compaction. The archiver writes one segment per tenant per
 * drain (every few seconds), so a busy tenant has thousands a day and a
 * restore as many S3 GETs and KMS decrypts. Compaction merges runs of
 * consecutive small segments, old enough that the archiver is done with them,
 * into one each. Per merge, in this order:
 *
 *   1. the merged object is written under a new key (mergedSegmentKey: its
 *      LSNs plus a digest of its inputs' keys; a rerun writes the same key),
 *      announced first in wal_segment_deletes as in progress, so that if the
 *      merge never commits, the object is deleted rather than orphaned;
 *   2. one catalog transaction: the inputs' rows are locked (a merge whose
 *      inputs retention deleted meanwhile is abandoned),
 *      the merged row goes in, the input rows go out, the input objects are
 *      scheduled for deletion and the merged one no longer is;
 *   3. the input objects are deleted after the grace period, by a later sweep.
 *
 * A crash before 2 leaves the inputs indexed (and an unindexed merged object
 * the sweep deletes after the grace period, unless a rerun indexes it); after 2, the merged segment indexed (and input objects
 * the sweep deletes). Never both indexed, never a row naming a missing object.
 *
 * The race with restores, and the choice made: a restore lists its segments
 * in the catalog, then GETs them. One that listed the inputs before step 2
 * must still find them, so inputs are not deleted at once but after a grace
 * period (default 6 hours, the restore activity's start-to-close timeout:
 * workflows/restore.workflow.ts), recorded in wal_segment_deletes, which the
 * sweep at the end of every compaction run works through. An advisory lock
 * held by restores would be exact but would hold a catalog connection for
 * every restore's whole read and couple the restore path to compaction; a
 * restore that somehow outlives the grace fails on a missing object, and its
 * retry lists the merged segment: never a wrong restore.
 *
 * Tenant shredding takes the same per-tenant lock (archive-tenant-lock.ts),
 * so no merged object is written behind an erasure's back.
 */

export interface CompactionDependencies extends SegmentStoreEnvironment {
  catalogPool: Pool;
}

/** Where the service's archive lives, from its configuration. */
export function compactionDependencies(config: Config, catalogPool: Pool, s3: S3Client): CompactionDependencies {
  return { catalogPool, s3, bucket: config.S3_EXPORT_BUCKET, sseKmsKeyId: config.S3_SSE_KMS_KEY_ID, keyring: kmsKeyring(config, config.KMS_EXPORT_KEY_ARN) };
}

export interface CompactionOptions {
  /** only segments indexed longer ago than this (the live archiver may still repeat a batch after a crash) */
  settleMs?: number;
  /** how long a merged segment's inputs stay readable for restores that listed them */
  graceMs?: number;
  /** at most this many changes per merged segment (the catalog's counts) */
  maxChanges?: number;
  /** at most this long from a merged segment's first to its last commit (see RunLimits.maxSpanMicros) */
  maxSpanMs?: number;
  /** at most this much transaction JSON per merged segment, before gzip */
  maxJsonBytes?: number;
  /** only these tenants (`*` for the table-wide segments) */
  tenantIds?: string[];
  /** start no new tenant after this long: the rest wait for the next run */
  budgetMs?: number;
  /** hears of every committed merge (the CLI prints it) */
  onMerged?(merged: MergedSegment): void;
  /** called after every run of segments, every tenant and every swept tenant (an activity heartbeats) */
  onProgress?(): void;
  /** called once a merged object is written, before its catalog transaction: where tests inject a crash or a concurrent deletion */
  onWritten?(objectKey: string): void | Promise<void>;
}

export const COMPACTION_DEFAULTS = {
  settleMs: 10 * 60_000,
  graceMs: 6 * 3_600_000,
  maxChanges: 50_000,
  maxSpanMs: 3_600_000,
  maxJsonBytes: 32 * 1024 * 1024,
  budgetMs: 30 * 60_000,
};

/** One committed merge. A type: it travels in Temporal results. */
export type MergedSegment = {
  tenantId: string;
  objectKey: string;
  inputs: number;
  transactions: number;
  changes: number;
  firstLsn: string;
  lastLsn: string;
};

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type CompactionResult = {
  /** tenants whose segments were examined (`*` included) */
  tenants: number;
  /** segments replaced by merged ones */
  inputSegments: number;
  /** merged segments written and indexed */
  mergedSegments: number;
  transactions: number;
  changes: number;
  /** merges not committed because their inputs were deleted meanwhile (retention, shredding): their objects are swept */
  abandoned: number;
  /** objects deleted by the sweep: inputs past their grace period, merged objects of abandoned merges */
  objectsDeleted: number;
  /** tenants left for the next run (the budget ran out) */
  tenantsLeft: number;
  failedTenants: Array<{ tenantId: string; message: string }>;
};

/** Segments fetched and decrypted at once, as a restore reads them. */
const PARALLEL_SEGMENTS = 8;

const interval = (ms: number) => `${Math.max(0, Math.round(ms))} milliseconds`;

/** Compacts every tenant's settled segments (one tenant at a time, under its archive lock), then sweeps due deletes. */
export async function compactArchive(deps: CompactionDependencies, options: CompactionOptions = {}): Promise<CompactionResult> {
  const o = { ...COMPACTION_DEFAULTS, ...options };
  const started = Date.now();
  const result: CompactionResult = {
    tenants: 0, inputSegments: 0, mergedSegments: 0, transactions: 0, changes: 0, abandoned: 0, objectsDeleted: 0, tenantsLeft: 0, failedTenants: [],
  };
  const { rows } = await deps.catalogPool.query<{ tenant_id: string }>(
    sqlQuery('restore', 'compaction-tenants.sql'), [interval(o.settleMs), o.tenantIds ?? null]);
  for (const [i, { tenant_id: tenantId }] of rows.entries()) {
    if (Date.now() - started > o.budgetMs) {
      result.tenantsLeft = rows.length - i;
      break;
    }
    result.tenants += 1;
    try {
      await withArchiveTenantLock(deps.catalogPool, tenantId, (catalog) => compactTenant(deps, catalog, tenantId, o, result));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result.failedTenants.push({ tenantId, message });
      logger.error({ tenantId, err: error }, 'WAL segment compaction failed for a tenant; what it had not merged yet waits for the next run');
    }
    o.onProgress?.();
  }
  result.objectsDeleted = await sweepSegmentDeletes(deps, o.onProgress);
  logger.info({ ...result, failedTenants: result.failedTenants.length, ms: Date.now() - started }, 'WAL segment compaction');
  return result;
}

type Options = typeof COMPACTION_DEFAULTS & CompactionOptions;

interface CandidateRow {
  id: string;
  slot_name: string;
  bucket: string;
  object_key: string;
  first_lsn: string;
  last_lsn: string;
  first_commit_micros: string;
  last_commit_micros: string;
  transaction_count: number;
  change_count: number;
  settled: boolean;
  gap_before: boolean;
}

const indexed = (r: CandidateRow): IndexedSegment => ({
  id: r.id, slotName: r.slot_name, bucket: r.bucket, objectKey: r.object_key, firstLsn: r.first_lsn, lastLsn: r.last_lsn,
  firstCommitMicros: BigInt(r.first_commit_micros), lastCommitMicros: BigInt(r.last_commit_micros),
  transactionCount: r.transaction_count, changeCount: r.change_count, settled: r.settled, gapBefore: r.gap_before,
});

async function compactTenant(deps: CompactionDependencies, catalog: PoolClient, tenantId: string, o: Options, result: CompactionResult): Promise<void> {
  const { rows } = await catalog.query<CandidateRow>(sqlQuery('restore', 'compaction-candidates.sql'), [tenantId, interval(o.settleMs)]);
  const runs = planRuns(rows.map(indexed), { maxChanges: o.maxChanges, maxSpanMicros: BigInt(Math.round(o.maxSpanMs)) * 1000n });
  for (const run of runs) {
    const segments = await runBounded(
      run.map((s) => () => getSegment({ ...deps, bucket: s.bucket }, s.objectKey, tenantId)), PARALLEL_SEGMENTS);
    const indexOf = new Map<Segment, IndexedSegment>(segments.map((segment, i) => [segment, run[i]]));
    for (const group of groupMergeable(segments, { maxJsonBytes: o.maxJsonBytes })) {
      if (group.length < 2) continue;
      const merged = await mergeGroup(deps, catalog, tenantId, group.map((segment) => ({ segment, row: indexOf.get(segment)! })), o);
      if (!merged) {
        result.abandoned += 1;
        continue;
      }
      result.inputSegments += merged.inputs;
      result.mergedSegments += 1;
      result.transactions += merged.transactions;
      result.changes += merged.changes;
      o.onMerged?.(merged);
    }
    o.onProgress?.();
  }
}

/** Steps 1 and 2 of a merge (see above); null when it was abandoned because an input's row is gone. */
async function mergeGroup(
  deps: CompactionDependencies, catalog: PoolClient, tenantId: string, inputs: Array<{ segment: Segment; row: IndexedSegment }>, o: Options,
): Promise<MergedSegment | null> {
  const merged = mergeSegments(inputs.map((i) => i.segment));
  const rows = inputs.map((i) => i.row);
  const ids = rows.map((r) => r.id);
  const key = mergedSegmentKey(merged, rows.map((r) => r.objectKey));
  const txs = merged.transactions;
  const micros = txs.map((t) => BigInt(t.commitMicros));
  const changes = txs.reduce((n, t) => n + t.changes.length, 0);

  await scheduleDeletes(catalog, [{ bucket: deps.bucket, objectKey: key, tenantId }], 'merge-in-progress', o.graceMs);
  await putSegment(deps, merged, key);
  await o.onWritten?.(key);
  const committed = await inTransaction(catalog, async () => {
    const locked = await catalog.query('SELECT id FROM wal_segments WHERE id = ANY ($1::bigint[]) FOR UPDATE', [ids]);
    if (locked.rowCount !== ids.length) return false;
    await catalog.query(sqlQuery('restore', 'compaction-insert-merged.sql'), [
      rows[0].slotName, tenantId, txs[0].commitLsn, segmentEndLsn(merged),
      micros.reduce((a, b) => (a <= b ? a : b)).toString(), micros.reduce((a, b) => (a >= b ? a : b)).toString(),
      txs.length, changes, deps.bucket, key, ids,
    ]);
    await catalog.query('DELETE FROM wal_segments WHERE id = ANY ($1::bigint[])', [ids]);
    await scheduleDeletes(catalog, rows.map((r) => ({ bucket: r.bucket, objectKey: r.objectKey, tenantId })), 'compacted', o.graceMs);
    await cancelDelete(catalog, key);
    return true;
  });
  if (!committed) {
    logger.warn({ tenantId, objectKey: key, inputs: ids.length }, 'WAL segment merge abandoned: an input was deleted meanwhile (retention or shredding); the merged object is swept');
    return null;
  }
  return {
    tenantId, objectKey: key, inputs: rows.length, transactions: txs.length, changes, firstLsn: txs[0].commitLsn, lastLsn: segmentEndLsn(merged),
  };
}
