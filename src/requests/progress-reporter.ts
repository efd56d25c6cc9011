import { logger } from '../logger';
import { RequestsRepository } from './requests.repository';

/**
 * Activities report progress many times a second; the catalog needs it about
 * once a second. Keeps the latest value per request and writes it at most
 * every `intervalMs`; a failed write is logged and never fails the activity.
 */
export function throttledProgress(requests: RequestsRepository, intervalMs = 1000) {
  const lastWrite = new Map<string, number>();
  return (requestId: string, progress: object): void => {
    const now = Date.now();
    if (now - (lastWrite.get(requestId) ?? 0) < intervalMs) return;
    lastWrite.set(requestId, now);
    requests.reportProgress(requestId, progress).catch((error: Error) =>
      logger.warn({ requestId, err: error.message }, 'could not record progress'));
  };
}
