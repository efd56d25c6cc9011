import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { RequestActivities } from '../src/requests/request.activities';

/*
 * How a workflow reports on the request it carries out, the same way in every
 * workflow. Workflow code: deterministic, @temporalio/workflow and activity
 * types only. Each function calls markRequest where the workflow would have,
 * so the commands, and their order, are what they were when this was inline.
 */

export const { markRequest } = proxyActivities<RequestActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 20 } });

export type FailureDescription = { code: string; message: string };

/** The code (an ApplicationFailure's type) and message of a failure, looking through one activity failure. */
export function describeFailure(error: unknown): FailureDescription {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'failed', message: cause.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Records a request whose workflow threw as cancelled, or as failed with
 * `describe(error)`. It runs even while the workflow is being cancelled, and
 * is a no-op when the outcome was recorded already.
 */
export function recordFailure(requestId: string, error: unknown, describe: (error: unknown) => FailureDescription = describeFailure): Promise<void> {
  return CancellationScope.nonCancellable(() =>
    isCancellation(error) ? markRequest(requestId, 'cancelled') : markRequest(requestId, 'failed', { error: describe(error) }));
}

/**
 * Ends a run over many tenants (one whose failed tenants did not stop the
 * others): succeeded with `result`, or, if any tenant failed, failed with it
 * and a non-retryable `tenants_failed` naming them. `what` names one item of
 * work in the message: "tenant", "tenant snapshot".
 */
export async function finishTenantRun<R>(
  requestId: string, result: R, tenantsTotal: number, failed: Array<{ tenantId: string; detail?: string }>, what: string,
): Promise<R> {
  const progress = { stage: 'done', tenantsDone: tenantsTotal, tenantsTotal, percent: 100 };
  if (failed.length > 0) {
    const error = { code: 'tenants_failed', message: `${failed.length} of ${tenantsTotal} ${what}(s) failed: ${failed.map((f) => `${f.tenantId} (${f.detail})`).join(', ').slice(0, 800)}` };
    await markRequest(requestId, 'failed', { progress, result, error });
    throw ApplicationFailure.nonRetryable(error.message, error.code);
  }
  await markRequest(requestId, 'succeeded', { progress, result });
  return result;
}
