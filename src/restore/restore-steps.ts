import { logger } from '../logger';

/**
 * Debug timings of a restore, one log line per step (`LOG_LEVEL=debug`):
 * what each part of the drain, load, replay and swap cost, so a slow restore
 * can be read from its log rather than guessed at.
 */
export type RestoreStepLog = (step: string, details?: Record<string, unknown>, startedAt?: number) => void;

/** `ms` is the time since the previous step, or since `startedAt` (`performance.now()`) for work that ran beside others. */
export function restoreStepLogger(fields: { restoreId: string; tenantId: string }): RestoreStepLog {
  let last = performance.now();
  return (step, details = {}, startedAt) => {
    const now = performance.now();
    logger.debug({ ...fields, step, ms: Math.round(now - (startedAt ?? last)), ...details }, 'restore step');
    last = now;
  };
}
