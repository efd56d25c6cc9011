import type { RequestStatus, StatusPatch } from '../../workflows/messages';
import { RequestsRepository } from './requests.repository';

/** Workflows record every state change of their request in the catalog through these. */
export function createRequestActivities(requests: RequestsRepository) {
  return {
    async markRequest(requestId: string, status: RequestStatus, patch: StatusPatch = {}): Promise<void> {
      await requests.transition(requestId, status, 'workflow', patch);
    },
  };
}

export type RequestActivities = ReturnType<typeof createRequestActivities>;
