import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { RestoreActivities } from '../src/restore/restore.activities';
import { NON_RETRYABLE, PromoteWorkflowInput, RestoreWorkflowInput, SnapshotWorkflowInput, WalArchiverInput } from './messages';
import { markRequest, recordFailure } from './request-outcome';

/** Snapshots heartbeat as their export goes; a retry takes the snapshot again. */
const { takeSnapshot } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Restores heartbeat every few seconds whatever the stage, so a dead worker
 * is noticed within the heartbeat timeout; a retry rebuilds the staging
 * schema from scratch.
 */
const { restoreTenant, promoteRestore } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** How long one archiver activity runs before the workflow continues as new, so its history stays short. */
const ARCHIVER_ACTIVITY_SECONDS = 3600;

/**
 * The archiver heartbeats every few seconds (and after every batch); retried
 * forever, backing off to a minute: a missing grant or an unreachable
 * database heals without anyone restarting it.
 */
const { archiveWal } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: `${ARCHIVER_ACTIVITY_SECONDS + 600} seconds`,
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

async function asRequest<T>(requestId: string, run: () => Promise<T>): Promise<T> {
  await markRequest(requestId, 'running');
  try {
    const result = await run();
    await markRequest(requestId, 'succeeded', { result });
    return result;
  } catch (error) {
    await recordFailure(requestId, error);
    throw error;
  }
}

/** Restore one tenant to a time or an LSN, into staging or in place. */
export async function restoreWorkflow(input: RestoreWorkflowInput) {
  return asRequest(input.requestId, () => restoreTenant(input));
}

/** Promote a staging restore: its staged rows swapped in, as an in-place restore would have. */
export async function promoteRestoreWorkflow(input: PromoteWorkflowInput) {
  return asRequest(input.requestId, () => promoteRestore(input));
}

/** Take one tenant snapshot (an export plus its visibility) for later restores. */
export async function snapshotWorkflow(input: SnapshotWorkflowInput) {
  return asRequest(input.requestId, () => takeSnapshot(input));
}

/**
 * The WAL archiver of one application database, supervised: one long
 * activity per hour, retried forever on failure, then continue-as-new so the
 * history stays small. Started by every worker at boot (WAL_ARCHIVER), under
 * one workflow id, so however many workers boot there is one archiver.
 */
export async function walArchiverWorkflow(input: WalArchiverInput = { intervalSeconds: 5 }): Promise<void> {
  await archiveWal({ intervalSeconds: input.intervalSeconds, maxSeconds: ARCHIVER_ACTIVITY_SECONDS });
  await continueAsNew<typeof walArchiverWorkflow>(input);
}
