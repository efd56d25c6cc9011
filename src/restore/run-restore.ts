import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool, escapeIdentifier as q } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { normalizeTenantId } from '../erasure/purge-session';
import { badInput, conflict } from '../errors';
import { kmsKeyring } from '../kms/keyring';
import { readTenantTransactions, ReplayTransaction } from './archive-reader';
import { WalArchiver } from './archiver';
import { checkStaging } from './checks';
import { parseLsn } from './lsn';
import { eraseTombstonedSubjects } from './reerase';
import { StagingApplier } from './replay';
import { resolveTarget, ResolvedTarget, RestoreTarget, timeToMicros } from './restore-target';
import { assertPitrCapable, createStagingSchema, loadSnapshot, stagingSchemaName } from './staging';
import { swapInPlace } from './swap';
import { listTenantSnapshots, TenantSnapshot } from './tenant-snapshot';
import { isVisibleInSnapshot } from './visibility';

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
  /** the staging schema in the application database; kept after an in-place swap too, for inspection */
  schema: string;
  snapshotId: string;
  snapshotLsn: string;
  /** transactions replayed on top of the snapshot, and read but already in it */
  appliedTransactions: number;
  skippedTransactions: number;
  erasedSubjects: number;
  rows: Record<string, number>;
  swapped: boolean;
  seconds: number;
};

export type RestoreStage = 'archive' | 'load' | 'replay' | 'erase' | 'check' | 'swap';

/**
 * Restores one tenant to a time or an LSN: drains the WAL archive, picks the
 * newest snapshot before the target, loads it into a staging schema, replays
 * exactly the tenant's transactions the snapshot did not contain (xid
 * visibility) up to the target, erases tombstoned subjects again, checks the
 * result and, in `in-place` mode, swaps it in in one transaction.
 */
export async function runRestore(
  deps: RestoreDependencies,
  map: DataMap,
  request: RestoreRequest,
  onStage: (stage: RestoreStage) => void = () => undefined,
): Promise<RestoreResult> {
  const started = performance.now();
  const tenantId = normalizeTenantId(map, request.tenantId);
  assertPitrCapable(map);
  await refuseErasedTenant(deps.catalogPool, tenantId);
  const target = resolveTarget(request.target);
  await refuseFutureTarget(deps.appPool, request.target);

  onStage('archive');
  await deps.archiver.ensure();
  await deps.archiver.archiveOnce();
  await refuseBeyondArchive(deps.archiver, request.target);

  const keyring = kmsKeyring(deps.config, deps.config.KMS_EXPORT_KEY_ARN);
  const { snapshot, replay, skipped } = await chooseSnapshot(deps, keyring, tenantId, target);

  const schema = stagingSchemaName(request.restoreId);
  onStage('load');
  const setup = await deps.appPool.connect();
  try {
    await createStagingSchema(setup, map, schema);
  } finally {
    setup.release();
  }
  await loadSnapshot(deps, map, snapshot, schema);

  onStage('replay');
  const applied = await replayInto(deps.appPool, map, schema, replay);

  onStage('erase');
  const erasedSubjects = await eraseTombstonedSubjects(deps, map, schema, tenantId);

  onStage('check');
  const client = await deps.appPool.connect();
  let rows: Record<string, number>;
  try {
    rows = await checkStaging(client, map, schema, tenantId);
  } finally {
    client.release();
  }

  let swapped = false;
  if (request.mode === 'in-place') {
    onStage('swap');
    // Checked again right before acting: an erasure may have started meanwhile.
    await refuseErasedTenant(deps.catalogPool, tenantId);
    await swapInPlace(deps.appPool, map, schema, tenantId);
    swapped = true;
  }
  return {
    tenantId, mode: request.mode, schema, snapshotId: snapshot.id, snapshotLsn: snapshot.lsn,
    appliedTransactions: applied, skippedTransactions: skipped, erasedSubjects, rows, swapped,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

/** Drops a staging schema (after inspection, or when a staging restore is discarded). */
export async function dropStaging(appPool: Pool, schema: string): Promise<void> {
  if (!/^restore_[a-z0-9]+$/.test(schema)) throw badInput('invalid_staging_schema', `${schema} is not a restore staging schema`);
  await appPool.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
}

async function refuseErasedTenant(catalogPool: Pool, tenantId: string): Promise<void> {
  const { rows } = await catalogPool.query<{ created_at: Date }>('SELECT created_at FROM tombstones WHERE tenant_id = $1 AND subject_hash IS NULL', [tenantId]);
  if (rows.length) {
    throw conflict('tenant_erased', `Tenant ${tenantId} was erased on ${rows[0].created_at.toISOString()}; its data must not come back, so it cannot be restored.`);
  }
}

async function refuseFutureTarget(appPool: Pool, target: RestoreTarget): Promise<void> {
  const { rows } = await appPool.query<{ now: string; lsn: string }>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now, pg_current_wal_lsn()::text AS lsn`);
  const future = 'time' in target ? timeToMicros(target.time) > timeToMicros(rows[0].now) : parseLsn(target.lsn) > parseLsn(rows[0].lsn);
  if (future) {
    throw badInput('restore_target_in_future', `The target is in the future (the database is at ${'time' in target ? rows[0].now : `LSN ${rows[0].lsn}`}); pick a point that has happened.`);
  }
}

async function refuseBeyondArchive(archiver: WalArchiver, target: RestoreTarget): Promise<void> {
  if (!('lsn' in target)) return;
  const archived = await archiver.archivedLsn();
  if (parseLsn(target.lsn) > parseLsn(archived)) {
    throw badInput('restore_target_beyond_archive', `LSN ${target.lsn} is beyond the WAL archive (archived up to ${archived}); retry once the archiver has caught up.`);
  }
}

/**
 * The newest snapshot before the target whose contents really are before it:
 * a snapshot can contain a transaction that committed after its recorded
 * time or LSN (between the start of its transaction and the moment the
 * snapshot was taken); if such a transaction is also after the target, the
 * next older snapshot is used.
 */
async function chooseSnapshot(
  deps: RestoreDependencies,
  keyring: ReturnType<typeof kmsKeyring>,
  tenantId: string,
  target: ResolvedTarget,
): Promise<{ snapshot: TenantSnapshot; replay: ReplayTransaction[]; skipped: number }> {
  const { rows: archive } = await deps.catalogPool.query<{ created_lsn: string }>('SELECT created_lsn::text FROM wal_archives');
  const archiveStart = archive.reduce((min, r) => (parseLsn(r.created_lsn) < min ? parseLsn(r.created_lsn) : min), 2n ** 64n);
  const candidates = (await listTenantSnapshots(deps.catalogPool, tenantId)).filter((s) =>
    'lsn' in target.target ? parseLsn(s.lsn) <= parseLsn(target.target.lsn) : timeToMicros(s.takenAt) <= timeToMicros(target.target.time));
  for (const snapshot of candidates) {
    if (parseLsn(snapshot.lsn) < archiveStart) break; // the archive does not reach back to it: older ones neither
    const all = await readTenantTransactions({ ...deps, keyring }, tenantId, snapshot);
    if (all.some((r) => isVisibleInSnapshot(r.tx.xid, snapshot) && !target.includes(r.tx))) continue;
    const replay: ReplayTransaction[] = [];
    for (const r of all) {
      if (!target.includes(r.tx)) break; // a prefix in commit order, like recovery_target_time
      replay.push(r);
    }
    const toApply = replay.filter((r) => !isVisibleInSnapshot(r.tx.xid, snapshot));
    return { snapshot, replay: toApply, skipped: replay.length - toApply.length };
  }
  throw badInput('restore_target_before_oldest_snapshot',
    `No snapshot of tenant ${tenantId} covered by the WAL archive precedes ${target.describe}; pick a later target, or take a snapshot (POST /v1/tenants/${tenantId}/snapshots) for future restores.`);
}

/** One staging transaction for the whole replay: a failed replay leaves the loaded snapshot, never half a history. */
async function replayInto(appPool: Pool, map: DataMap, schema: string, replay: ReplayTransaction[]): Promise<number> {
  const client = await appPool.connect();
  try {
    await client.query('BEGIN');
    const applier = new StagingApplier(client, map, schema);
    for (const r of replay) {
      for (const change of r.tx.changes) await applier.apply(change, r.relations);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return replay.length;
}
