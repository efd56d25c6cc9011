import { Context } from '@temporalio/activity';
import type { RequestStatus, StatusPatch } from '../../workflows/messages';
import { workerMetrics } from '../metrics/worker-metrics';
import { RequestsRepository } from './requests.repository';

/** The workflow type calling, when inside an activity (a direct call from a test has none). */
function callingWorkflowType(): string {
  try {
    return Context.current().info.workflowType ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Workflows record every state change of their request in the catalog through these. */
export function createRequestActivities(requests: RequestsRepository) {
  return {
    async markRequest(requestId: string, status: RequestStatus, patch: StatusPatch = {}): Promise<void> {
      const changed = await requests.transition(requestId, status, 'workflow', patch);
      // Counted where the failure becomes the request's fate, once: a retried markRequest changes nothing.
      if (changed && status === 'failed') workerMetrics().workflowFailed(callingWorkflowType());
    },
  };
}

export type RequestActivities = ReturnType<typeof createRequestActivities>;
