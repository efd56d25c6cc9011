import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { uuidV5 } from '../demo/tenant-plan';
import { currentActivity } from '../erasure/activity-context';
import { workerMetrics } from '../metrics/worker-metrics';
import { listTenantIds } from '../retention/retention.activities';
import { pruneArchive, PruneResult } from './archive-retention';
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
     * this window gets; and the tenants left out because they are erased
     * (tombstoned: an erasure under way, whose rows are still going).
     */
    async listSnapshotTenants(input: { window: string }): Promise<{ tenants: Array<{ tenantId: string; snapshotId: string }>; erased: string[] }> {
      const ids = await listTenantIds(deps.appPool, await deps.loadDataMap(), null);
      const { rows } = await deps.catalogPool.query<{ tenant_id: string }>(
        'SELECT tenant_id FROM tombstones WHERE subject_hash IS NULL AND tenant_id = ANY ($1::text[])', [ids]);
      const erased = new Set(rows.map((r) => r.tenant_id));
      return {
        tenants: ids.filter((id) => !erased.has(id)).map((tenantId) => ({ tenantId, snapshotId: scheduledSnapshotId(tenantId, input.window) })),
        erased: ids.filter((id) => erased.has(id)),
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
