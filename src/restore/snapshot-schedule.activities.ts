import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { uuidV5 } from '../demo/tenant-plan';
import { currentActivity } from '../erasure/activity-context';
import { workerMetrics } from '../metrics/worker-metrics';
import { listTenantIds } from '../retention/retention.activities';
import { sqlQuery } from '../db/sql-files';
import { logger } from '../logger';
import { SCAN_MARGIN } from './archive-reader';
import { pruneArchive, PruneResult } from './archive-retention';
import { archiverFor } from './restore.activities';
import { parseDurationMs } from './pitr-window';
import { compactArchive, compactionDependencies, CompactionResult } from './segment-compaction';
import { expireStagings } from './staging-lifecycle';

export interface SnapshotScheduleDependencies {
  config: Config;
  appPool: Pool;
  catalogPool: Pool;
  s3: S3Client;
  loadDataMap(): Promise<DataMap>;
}

/** Namespace of scheduled snapshots' ids (UUIDv5 of `snapshot:<tenant>:<window>`): a retried or repeated window writes the same snapshot. */
const SNAPSHOT_ID_NAMESPACE = '0d5b8c9e-6f1a-4c7e-8b2d-3e9f4a1c7b65';

export function scheduledSnapshotId(tenantId: string, window: string): string {
  return uuidV5(SNAPSHOT_ID_NAMESPACE, `snapshot:${tenantId}:${window}`);
}

/** What the snapshot schedule's workflow calls besides takeSnapshot (restore.activities.ts). */
export function createSnapshotScheduleActivities(deps: SnapshotScheduleDependencies) {
  return {
    /**
     * The live tenants, in tenant id order, each with the id its snapshot of
     * this window gets; the tenants left out because they are erased
     * (tombstoned: an erasure under way, whose rows are still going); and,
     * with SNAPSHOT_UNCHANGED=skip, those whose newest snapshot still holds
     * what they hold now (their restores start from it and replay nothing).
     */
    async listSnapshotTenants(input: { window: string }): Promise<{ tenants: Array<{ tenantId: string; snapshotId: string }>; erased: string[]; unchanged: string[] }> {
      const ids = await listTenantIds(deps.appPool, await deps.loadDataMap(), null);
      const { rows } = await deps.catalogPool.query<{ tenant_id: string }>(
        'SELECT tenant_id FROM tombstones WHERE subject_hash IS NULL AND tenant_id = ANY ($1::text[])', [ids]);
      const erased = new Set(rows.map((r) => r.tenant_id));
      const live = ids.filter((id) => !erased.has(id));
      const unchanged = new Set(deps.config.SNAPSHOT_UNCHANGED === 'skip' ? await unchangedSinceLastSnapshot(deps, live) : []);
      return {
        tenants: live.filter((id) => !unchanged.has(id)).map((tenantId) => ({ tenantId, snapshotId: scheduledSnapshotId(tenantId, input.window) })),
        erased: ids.filter((id) => erased.has(id)),
        unchanged: live.filter((id) => unchanged.has(id)),
      };
    },

    /** PITR window retention, measured from now (see pruneArchive), and expired staging schemas. Safe to repeat. */
    async pruneArchive(): Promise<PruneResult> {
      const now = new Date();
      const pruned = await pruneArchive(deps, { now, windowMs: parseDurationMs(deps.config.PITR_WINDOW)! });
      // Staging schemas past RESTORE_STAGING_TTL go on the same schedule (restores sweep them too).
      return { ...pruned, stagingsExpired: (await expireStagings(deps, now)).length };
    },

    /** WAL segment compaction with its defaults (see segment-compaction.ts), heartbeating after every run of segments. Safe to repeat. */
    async compactArchive(): Promise<CompactionResult> {
      const { config } = deps;
      const ctx = currentActivity();
      const result = await compactArchive(compactionDependencies(config, deps.catalogPool, deps.s3), { onProgress: () => ctx?.heartbeat() });
      workerMetrics().compactedSegments(result);
      return result;
    },
  };
}

export type SnapshotScheduleActivities = ReturnType<typeof createSnapshotScheduleActivities>;

/**
 * The tenants among `ids` whose newest snapshot is still current
 * (sql/queries/restore/snapshots-still-current.sql), judged on an archive
 * drained up to now. When the archive cannot be drained (no slot yet, the
 * database unreachable), none: every tenant is snapshotted, as before.
 */
async function unchangedSinceLastSnapshot(deps: SnapshotScheduleDependencies, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  let lsn: string;
  try {
    lsn = (await deps.appPool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
    await archiverFor(deps).archiveOnce();
  } catch (error) {
    logger.warn({ err: error }, 'snapshot schedule: the WAL archive could not be drained, so every tenant is snapshotted');
    return [];
  }
  const { rows } = await deps.catalogPool.query<{ tenant_id: string }>(sqlQuery('restore', 'snapshots-still-current.sql'), [ids, lsn, SCAN_MARGIN]);
  return rows.map((r) => r.tenant_id);
}
