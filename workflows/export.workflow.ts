import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { ExportActivities } from '../src/export/export.activities';
import type { ExportResult } from '../src/export/export.types';
import { ExportWorkflowInput, NON_RETRYABLE } from './messages';
import { describeFailure, markRequest } from './request-outcome';

/**
 * A long streaming activity: the heartbeat carries the resume cursor, so a
 * retry continues. A cancel waits for the activity to stop, so nothing is
 * still writing when the export is discarded and marked cancelled.
 */
const { runExport } = proxyActivities<ExportActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

const { discardExport } = proxyActivities<ExportActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 20 },
});

/** Export one tenant's (or one subject's) data to an encrypted object in S3. */
export async function exportWorkflow(input: ExportWorkflowInput): Promise<ExportResult> {
  try {
    // Inside the try: a cancel that arrives while the export is still queued is recorded too.
    await markRequest(input.requestId, 'running');
    const result = await runExport(input);
    await markRequest(input.requestId, 'succeeded', { result });
    return result;
  } catch (error) {
    // Cleaning up and recording the outcome must happen even while the workflow is being cancelled.
    await CancellationScope.nonCancellable(async () => {
      if (!isCancellation(error)) return markRequest(input.requestId, 'failed', { error: describeFailure(error) });
      await discardExport(input);
      return markRequest(input.requestId, 'cancelled');
    });
    throw error;
  }
}
