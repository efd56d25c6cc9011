import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { ExportActivities } from '../src/export/export.activities';
import type { ExportResult } from '../src/export/export.types';
import type { RequestActivities } from '../src/requests/request.activities';
import { ExportWorkflowInput, NON_RETRYABLE } from './messages';

const { markRequest } = proxyActivities<RequestActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 20 },
});

/** A long streaming activity: the heartbeat carries the resume cursor, so a retry continues. */
const { runExport } = proxyActivities<ExportActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

function describe(error: unknown): { code: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'failed', message: cause.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

/** Export one tenant's (or one subject's) data to an encrypted object in S3. */
export async function exportWorkflow(input: ExportWorkflowInput): Promise<ExportResult> {
  await markRequest(input.requestId, 'running');
  try {
    const result = await runExport(input);
    await markRequest(input.requestId, 'succeeded', { result });
    return result;
  } catch (error) {
    // Recording the outcome must happen even while the workflow is being cancelled.
    await CancellationScope.nonCancellable(() =>
      isCancellation(error)
        ? markRequest(input.requestId, 'cancelled')
        : markRequest(input.requestId, 'failed', { error: describe(error) }));
    throw error;
  }
}
