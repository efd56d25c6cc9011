import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool, escapeIdentifier as q } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { withTransaction } from '../db/pool';
import { normalizeTenantId } from '../erasure/purge-session';
import { badInput } from '../errors';
import { ReplayTransaction } from './archive-reader';
import { WalArchiver } from './archiver';
import { checkStaging } from './checks';
import { parseLsn } from './lsn';
import { eraseTombstonedSubjects } from './reerase';
import { replayChanges } from './replay';
import { resolveTarget, RestoreTarget, timeToMicros } from './restore-target';
import { readArchive, SnapshotChoice, snapshotCandidates } from './snapshot-choice';
import { assertPitrCapable, createStagingSchema, LoadedSnapshot, loadSnapshot, restoredTables, stagingSchemaName } from './staging';
import { swapInPlace, SwapResult } from './swap';
import { refuseErasedTenant } from './swap-guard';
import { restoreStepLogger, RestoreStepLog } from './restore-steps';
import { TenantSnapshot } from './tenant-snapshot';
import { StagingRegistry } from './staging-registry';
import { parseDurationMs } from './pitr-window';
import { workerMetrics } from '../metrics/worker-metrics';

export type RestoreMode = 'staging' | 'in-place';

export interface RestoreDependencies {
  config: Config;
  /** the application database as the service role (RLS applies) */
  appPool: Pool;
  catalogPool: Pool;
  s3: S3Client;
  kms: KMSClient;
  archiver: WalArchiver;
  subjectHashSecret: string | Buffer;
}

export interface RestoreRequest {
  restoreId: string;
  tenantId: string;
  target: RestoreTarget;
  mode: RestoreMode;
}

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type RestoreResult = {
  tenantId: string;
  mode: RestoreMode;
  /** the staging schema in the application database: kept for staging (until promoted, dropped or expired), dropped after an in-place swap */
  schema: string;
  snapshotId: string;
  snapshotLsn: string;
  /** transactions replayed on top of the snapshot, and read but already in it */
  appliedTransactions: number;
  skippedTransactions: number;
  erasedSubjects: number;
  rows: Record<string, number>;
  swapped: boolean;
  /** in place: whether only the rows that differ were written, and how many per table */
  swap: SwapResult | null;
  seconds: number;
};

export type RestoreStage = 'archive' | 'load' | 'replay' | 'erase' | 'check' | 'swap';

/**
 * Restores one tenant to a time or an LSN: drains the WAL archive (unless it
 * already reaches past the target), picks the newest snapshot before the
 * target, loads it into a staging schema, replays
 * exactly the tenant's transactions the snapshot did not contain (xid
 * visibility) up to the target, erases tombstoned subjects again, checks the
 * result and, in `in-place` mode, swaps it in in one transaction.
 *
 * The newest snapshot before the target is loaded while the archive drains
 * and is read (neither needs the other); in the rare case the archive shows
 * that snapshot holds a transaction past the target, an older one is loaded
 * instead. `LOG_LEVEL=debug` logs each step's milliseconds.
 */
export async function runRestore(
  deps: RestoreDependencies,
  map: DataMap,
  request: RestoreRequest,
  onStage: (stage: RestoreStage) => void = () => undefined,
): Promise<RestoreResult> {
  const started = performance.now();
  const tenantId = normalizeTenantId(map, request.tenantId);
  const step = restoreStepLogger({ restoreId: request.restoreId, tenantId });
  assertPitrCapable(map);
  await refuseErasedTenant(deps.catalogPool, tenantId);
  const target = resolveTarget(request.target);
  await refuseFutureTarget(deps.appPool, request.target);
  const schema = stagingSchemaName(request.restoreId);
  const registry = new StagingRegistry(deps.catalogPool);
  // Registered before it holds a row: expiry and erasures find it even if this restore dies midway.
  await registry.register({ restoreId: request.restoreId, tenantId, schema, ttlMs: parseDurationMs(deps.config.RESTORE_STAGING_TTL)! });

  onStage('archive');
  const candidates = await snapshotCandidates(deps.catalogPool, tenantId, target);
  step('preflight', { candidates: candidates.length });
  const early = candidates[0] ? settle(stageSnapshot(deps, map, candidates[0], schema, step)) : null;
  let choice: SnapshotChoice;
  try {
    choice = await readArchive(deps, restoredTables(map), tenantId, target, candidates, step);
  } catch (error) {
    // Refused before anything was restored (a gap, a schema change, no usable snapshot): nothing to inspect.
    await early;
    await dropStaging(deps.appPool, schema).catch(() => undefined);
    await registry.ended(request.restoreId, 'dropped', 'refused restore').catch(() => undefined);
    throw error;
  }
  const { snapshot, replay, skipped } = choice;

  onStage('load');
  const settled = await early;
  let loaded: LoadedSnapshot;
  if (!settled || snapshot.id !== candidates[0].id) loaded = await stageSnapshot(deps, map, snapshot, schema, step);
  else if ('error' in settled) throw settled.error;
  else loaded = settled.value;

  onStage('replay');
  const applied = await replayInto(deps.appPool, map, schema, replay, loaded.droppedColumns);
  step('replay', { transactions: applied, changes: replay.reduce((n, r) => n + r.tx.changes.length, 0) });

  onStage('erase');
  let erasedSubjects = await eraseTombstonedSubjects(deps, map, schema, tenantId);
  step('erase', { subjects: erasedSubjects });

  onStage('check');
  let rows = await checkStaging(deps.appPool, map, schema, tenantId);
  step('check');
  await registry.staged(request.restoreId, { rows, snapshotId: snapshot.id, appliedTransactions: applied });
  // A subject erasure that ended while this schema was loading saw it as `loading` and left it to us:
  // once it is `staged`, erasures erase in it themselves, so one more look covers the gap.
  const late = await eraseTombstonedSubjects(deps, map, schema, tenantId);
  if (late > 0) {
    erasedSubjects += late;
    rows = await checkStaging(deps.appPool, map, schema, tenantId);
    await registry.recount(request.restoreId, rows);
  }

  let swap: SwapResult | null = null;
  if (request.mode === 'in-place') {
    onStage('swap');
    // The swap reads the tombstones again under its lock (swap-guard.ts): an erasure may have started meanwhile.
    swap = await swapInPlace(deps, map, schema, tenantId);
    step('swap', swap);
    // The staging schema now equals the live rows: a second copy of the tenant has no use left.
    await registry.ended(request.restoreId, 'promoted', 'in-place restore');
    await dropStaging(deps.appPool, schema);
  }
  return {
    tenantId, mode: request.mode, schema, snapshotId: snapshot.id, snapshotLsn: snapshot.lsn,
    appliedTransactions: applied, skippedTransactions: skipped, erasedSubjects, rows, swapped: swap !== null, swap,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

/** A fresh staging schema holding the snapshot, keys built. */
async function stageSnapshot(deps: RestoreDependencies, map: DataMap, snapshot: TenantSnapshot, schema: string, step: RestoreStepLog): Promise<LoadedSnapshot> {
  const started = performance.now();
  const setup = await deps.appPool.connect();
  try {
    await createStagingSchema(setup, map, schema);
  } finally {
    setup.release();
  }
  const loaded = await loadSnapshot(deps, map, snapshot, schema, step);
  step('load', { snapshotId: snapshot.id, rows: Object.values(loaded.rows).reduce((a, b) => a + b, 0), droppedColumns: loaded.droppedColumns }, started);
  return loaded;
}

/** A promise that never rejects (so nobody has to be waiting on it when it fails), holding its outcome. */
function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then((value) => ({ value }), (error: unknown) => ({ error }));
}

/** Drops a staging schema (after inspection, or when a staging restore is discarded). */
export async function dropStaging(appPool: Pool, schema: string): Promise<void> {
  if (!/^restore_[a-z0-9]+$/.test(schema)) throw badInput('invalid_staging_schema', `${schema} is not a restore staging schema`);
  await appPool.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
}

async function refuseFutureTarget(appPool: Pool, target: RestoreTarget): Promise<void> {
  const { rows } = await appPool.query<{ now: string; lsn: string }>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now, pg_current_wal_lsn()::text AS lsn`);
  const future = 'time' in target ? timeToMicros(target.time) > timeToMicros(rows[0].now) : parseLsn(target.lsn) > parseLsn(rows[0].lsn);
  if (future) {
    throw badInput('restore_target_in_future', `The target is in the future (the database is at ${'time' in target ? rows[0].now : `LSN ${rows[0].lsn}`}); pick a point that has happened.`);
  }
}

/** One staging transaction for the whole replay: a failed replay leaves the loaded snapshot, never half a history. */
async function replayInto(appPool: Pool, map: DataMap, schema: string, replay: ReplayTransaction[], droppedColumns: Record<string, string[]>): Promise<number> {
  const changes = await withTransaction(appPool, (client) => replayChanges(client, map, schema, replay, droppedColumns));
  workerMetrics().replayedRows(changes);
  return replay.length;
}
