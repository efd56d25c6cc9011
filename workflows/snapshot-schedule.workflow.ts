import { isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { PruneResult } from '../src/restore/archive-retention';
import type { RestoreActivities } from '../src/restore/restore.activities';
import type { CompactionResult } from '../src/restore/segment-compaction';
import type { SnapshotScheduleActivities } from '../src/restore/snapshot-schedule.activities';
import { NON_RETRYABLE, SnapshotScheduleInput } from './messages';
import { describeFailure, finishTenantRun, markRequest, recordFailure } from './request-outcome';

const { listSnapshotTenants, pruneArchive } = proxyActivities<SnapshotScheduleActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** A snapshot is a whole-tenant COPY: hours for a whale. A retry takes it again under the same id. */
const { takeSnapshot } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '6 hours',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE, 'tenant_erased'] },
});

/**
 * WAL segment compaction reads and rewrites segments: it heartbeats after
 * every run of them and starts no tenant after half an hour (the rest wait
 * for the next window), so an hour bounds an attempt.
 */
const { compactArchive } = proxyActivities<SnapshotScheduleActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Snapshots taken at once: each holds a connection and an exported snapshot on the application database. */
const SNAPSHOTS_AT_ONCE = 2;

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type SnapshotScheduleResult = {
  window: string;
  tenantsTotal: number;
  taken: Array<{ tenantId: string; snapshotId: string; lsn: string; rows: number }>;
  skipped: Array<{ tenantId: string; reason: string }>;
  failed: Array<{ tenantId: string; code: string; message: string }>;
  pruned: PruneResult;
  /** absent in runs that started before compaction was part of the schedule */
  compacted?: CompactionResult;
};

/**
 * One window of the snapshot schedule: a snapshot of every live tenant, a
 * few at a time, each under an id derived from tenant and window (so a
 * repeat writes the same snapshot), then PITR window retention, then WAL
 * segment compaction of what retention kept. A tenant
 * that fails does not stop the others; it fails the run, after retention ran.
 */
export async function snapshotScheduleWorkflow(input: SnapshotScheduleInput): Promise<SnapshotScheduleResult> {
  try {
    await markRequest(input.requestId, 'running', { progress: { stage: 'listing tenants', percent: 0 } });
    // `unchanged` is absent from runs recorded before it existed: they replay as they ran.
    const { tenants, erased, unchanged = [] } = await listSnapshotTenants({ window: input.window });
    const result: SnapshotScheduleResult = {
      window: input.window, tenantsTotal: tenants.length, taken: [], failed: [],
      skipped: [
        ...erased.map((tenantId) => ({ tenantId, reason: 'tenant_erased' })),
        ...unchanged.map((tenantId) => ({ tenantId, reason: 'unchanged' })),
      ],
      pruned: { windowStart: '', snapshotsDeleted: 0, segmentsDeleted: 0, anchoredTenants: 0 },
    };
    let next = 0;
    let done = 0;
    const lane = async () => {
      while (next < tenants.length) {
        const { tenantId, snapshotId } = tenants[next++];
        try {
          const snapshot = await takeSnapshot({ requestId: snapshotId, tenantId });
          result.taken.push({ tenantId, snapshotId, lsn: snapshot.lsn, rows: snapshot.rows });
        } catch (error) {
          if (isCancellation(error)) throw error;
          const { code, message } = describeFailure(error);
          if (code === 'tenant_erased') result.skipped.push({ tenantId, reason: code });
          else result.failed.push({ tenantId, code, message });
        }
        done += 1;
        await markRequest(input.requestId, 'running', {
          progress: { stage: 'snapshotting', tenantsDone: done, tenantsTotal: tenants.length, percent: Math.floor((90 * done) / Math.max(1, tenants.length)) },
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(SNAPSHOTS_AT_ONCE, tenants.length) }, lane));

    await markRequest(input.requestId, 'running', { progress: { stage: 'pruning', percent: 90 } });
    result.pruned = await pruneArchive();
    // Runs that started before compaction existed replay without it.
    if (patched('compact-wal-segments')) {
      await markRequest(input.requestId, 'running', { progress: { stage: 'compacting', percent: 95 } });
      result.compacted = await compactArchive();
    }
    const failed = result.failed.map((f) => ({ tenantId: f.tenantId, detail: f.message }));
    return await finishTenantRun(input.requestId, result, tenants.length, failed, 'tenant snapshot');
  } catch (error) {
    await recordFailure(input.requestId, error);
    throw error;
  }
}
