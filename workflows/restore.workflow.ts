import { ActivityFailure, ApplicationFailure, CancellationScope, continueAsNew, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { RequestActivities } from '../src/requests/request.activities';
import type { RestoreActivities } from '../src/restore/restore.activities';
import { NON_RETRYABLE, RestoreWorkflowInput, SnapshotWorkflowInput } from './messages';

const { markRequest } = proxyActivities<RequestActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 20 },
});

/** Restores heartbeat at every stage; a retry rebuilds the staging schema from scratch. */
const { restoreTenant, takeSnapshot } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

const { archiveWal } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});

function describe(error: unknown): { code: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'failed', message: cause.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

async function asRequest<T>(requestId: string, run: () => Promise<T>): Promise<T> {
  await markRequest(requestId, 'running');
  try {
    const result = await run();
    await markRequest(requestId, 'succeeded', { result });
    return result;
  } catch (error) {
    await CancellationScope.nonCancellable(() =>
      isCancellation(error) ? markRequest(requestId, 'cancelled') : markRequest(requestId, 'failed', { error: describe(error) }));
    throw error;
  }
}

/** Restore one tenant to a time or an LSN, into staging or in place. */
export async function restoreWorkflow(input: RestoreWorkflowInput) {
  return asRequest(input.requestId, () => restoreTenant(input));
}

/** Take one tenant snapshot (an export plus its visibility) for later restores. */
export async function snapshotWorkflow(input: SnapshotWorkflowInput) {
  return asRequest(input.requestId, () => takeSnapshot(input));
}

/**
 * The WAL archiver, supervised: one long activity per hour, retried forever
 * on failure, then continue-as-new so the history stays small.
 */
export async function walArchiverWorkflow(): Promise<void> {
  await archiveWal({ intervalSeconds: 5, maxSeconds: 3600 });
  await continueAsNew<typeof walArchiverWorkflow>();
}
