import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { badInput } from '../errors';
import { readTenantTransactions, ReplayTransaction } from './archive-reader';
import { parseLsn } from './lsn';
import { ResolvedTarget, timeToMicros } from './restore-target';
import { listTenantSnapshots, TenantSnapshot } from './tenant-snapshot';
import { isVisibleInSnapshot } from './visibility';

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
