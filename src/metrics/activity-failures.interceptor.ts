import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import { ActivityFailureReason, WorkerMetrics } from './worker-metrics';

function reasonOf(error: unknown): ActivityFailureReason {
  if (error instanceof CancelledFailure) return 'cancelled';
  if (error instanceof ApplicationFailure && error.nonRetryable) return 'non_retryable';
  return 'failed';
}

/**
 * Counts every failed activity attempt by activity type, once for all
 * capabilities. Attempts that never end in this process (a killed worker, a
 * heartbeat timeout) are Temporal's to see: they are not counted here.
 */
export function countActivityFailures(metrics: WorkerMetrics) {
  return (ctx: Context): ActivityInterceptors => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          metrics.activityFailed(ctx.info.activityType, reasonOf(error));
          throw error;
        }
      },
    },
  });
}
