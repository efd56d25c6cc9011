import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { TableEntry } from '../datamap/datamap.types';
import { badInput } from '../errors';
import { kmsKeyring } from '../kms/keyring';
import { readTenantTransactions, ReplayTransaction } from './archive-reader';
import { WalArchiver } from './archiver';
import { parseLsn } from './lsn';
import { assertReplayable } from './replay-range';
import { RestoreStepLog } from './restore-steps';
import { ResolvedTarget, RestoreTarget, timeToMicros } from './restore-target';
import { listTenantSnapshots, TenantSnapshot } from './tenant-snapshot';
import { isVisibleInSnapshot } from './visibility';
import { ALL_TENANTS } from './wal.types';

/**
 * Which snapshot a restore starts from, and what it replays on top of it:
 * the archive drained if it does not already reach past the target, read
 * from the snapshot up to the target, and checked for gaps and schema changes.
 */

export interface SnapshotChoice {
  snapshot: TenantSnapshot;
  /** the transactions to replay on top of it, in commit order */
  replay: ReplayTransaction[];
  /** transactions read up to the target that the snapshot already contains */
  skipped: number;
}

/**
 * The tenant's snapshots a restore to `target` may start from, newest first:
 * taken at or before the target, and covered by the WAL archive (a snapshot
 * older than the archive's first slot has no history to replay). Neither
 * depends on a drain, so the newest can be loaded while the archive drains.
 */
export async function snapshotCandidates(catalogPool: Pool, tenantId: string, target: ResolvedTarget): Promise<TenantSnapshot[]> {
  const { rows: archive } = await catalogPool.query<{ created_lsn: string }>('SELECT created_lsn::text FROM wal_archives');
  const archiveStart = archive.reduce((min, r) => (parseLsn(r.created_lsn) < min ? parseLsn(r.created_lsn) : min), 2n ** 64n);
  const before = (await listTenantSnapshots(catalogPool, tenantId)).filter((s) =>
    'lsn' in target.target ? parseLsn(s.lsn) <= parseLsn(target.target.lsn) : timeToMicros(s.takenAt) <= timeToMicros(target.target.time));
  const covered: TenantSnapshot[] = [];
  for (const snapshot of before) {
    if (parseLsn(snapshot.lsn) < archiveStart) break; // the archive does not reach back to it: older ones neither
    covered.push(snapshot);
  }
  return covered;
}

/**
 * The newest candidate whose contents really are before the target: a
 * snapshot can contain a transaction that committed after its recorded time
 * or LSN (between the start of its transaction and the moment the snapshot
 * was taken); if such a transaction is also after the target, the next older
 * snapshot is used. Reads the archive from the snapshot up to the target.
 */
export async function chooseSnapshot(
  deps: { catalogPool: Pool; s3: S3Client },
  keyring: KeyringNode,
  tenantId: string,
  target: ResolvedTarget,
  candidates: TenantSnapshot[],
): Promise<SnapshotChoice> {
  for (const snapshot of candidates) {
    const all = await readTenantTransactions({ ...deps, keyring }, tenantId, snapshot, target.target);
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

export interface ArchiveDependencies {
  config: Config;
  catalogPool: Pool;
  s3: S3Client;
  archiver: WalArchiver;
}

/** Drains the archive if it must, then reads it from the chosen snapshot up to the target; refuses what it cannot replay. */
export async function readArchive(
  deps: ArchiveDependencies, tables: TableEntry[], tenantId: string, target: ResolvedTarget, candidates: TenantSnapshot[], step: RestoreStepLog,
): Promise<SnapshotChoice> {
  if (await archiveHoldsTarget(deps, tenantId, target.target, candidates)) {
    step('archive: already past the target, no drain');
  } else {
    await deps.archiver.ensure();
    const drained = await deps.archiver.archiveOnce();
    step('archive: drain', { transactions: drained.transactions, changes: drained.changes, segments: drained.segments });
    await refuseBeyondArchive(deps.archiver, target.target);
  }
  const keyring = kmsKeyring(deps.config, deps.config.KMS_EXPORT_KEY_ARN);
  const choice = await chooseSnapshot(deps, keyring, tenantId, target, candidates);
  step('archive: read', { snapshotId: choice.snapshot.id, transactions: choice.replay.length, skipped: choice.skipped });
  // No gap in the archive and no schema change of a restored table between the snapshot and the target.
  await assertReplayable(deps.catalogPool, tables, tenantId, choice.snapshot, target);
  return choice;
}

/**
 * Whether the archive already holds everything a replay to the target reads,
 * so the restore need not drain the slot first (the supervised archiver
 * keeps it a few seconds behind). It must reach past the snapshots' LSNs
 * (a snapshot may contain a transaction committed after the target, which
 * the choice of snapshot must see) and past the target: for an LSN target,
 * archived up to it; for a time target, an archived transaction of the
 * tenant (or a table-wide one) committed after it, since the archive has no
 * hole before that transaction (a gap is refused later) and replay stops at
 * the first commit after the target. Otherwise (a target in the last
 * seconds, a tenant quiet since, a snapshot just taken) the restore drains.
 */
async function archiveHoldsTarget(deps: ArchiveDependencies, tenantId: string, target: RestoreTarget, candidates: TenantSnapshot[]): Promise<boolean> {
  const archived = await deps.archiver.archivedLsn().then(parseLsn, () => null);
  if (archived === null || candidates.some((s) => parseLsn(s.lsn) > archived)) return false;
  if ('lsn' in target) return parseLsn(target.lsn) <= archived;
  const { rows } = await deps.catalogPool.query<{ past: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM wal_segments WHERE tenant_id = ANY($1) AND last_commit_at > $2::timestamptz) AS past',
    [[tenantId, ALL_TENANTS], target.time]);
  return rows[0].past;
}

async function refuseBeyondArchive(archiver: WalArchiver, target: RestoreTarget): Promise<void> {
  if (!('lsn' in target)) return;
  const archived = await archiver.archivedLsn();
  if (parseLsn(target.lsn) > parseLsn(archived)) {
    throw badInput('restore_target_beyond_archive', `LSN ${target.lsn} is beyond the WAL archive (archived up to ${archived}); retry once the archiver has caught up.`);
  }
}
