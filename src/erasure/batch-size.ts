/**
 * How batches are sized, paced and retried. Short transactions keep locks
 * and the snapshot horizon brief for everyone else; the batch grows while it
 * is cheap and shrinks as soon as it is not, so its duration stays near
 * targetBatchMs whatever the table's row width, indexes or load.
 */
export interface BatchTuning {
  initialBatchRows: number;
  minBatchRows: number;
  maxBatchRows: number;
  /** a batch (one transaction, BEGIN to COMMIT) should take about this long */
  targetBatchMs: number;
  /** sleep at least this long between batches */
  pauseMs: number;
  /** share of wall time spent in batches: 0.5 sleeps as long as each batch took; 1 never sleeps */
  dutyCycle: number;
  /** SET LOCAL lock_timeout of each batch: wait this long for a row lock, then retry later */
  lockTimeoutMs: number;
  /** SET LOCAL statement_timeout of each batch */
  statementTimeoutMs: number;
  /** attempts per batch on a retryable SQLSTATE before the error goes up (to the activity's retry) */
  maxAttempts: number;
  retryBaseMs: number;
}

export const DEFAULT_TUNING: Readonly<BatchTuning> = Object.freeze({
  initialBatchRows: 1_000,
  minBatchRows: 100,
  maxBatchRows: 20_000,
  targetBatchMs: 200,
  pauseMs: 0,
  dutyCycle: 1,
  lockTimeoutMs: 2_000,
  statementTimeoutMs: 30_000,
  maxAttempts: 8,
  retryBaseMs: 100,
});

export function tuningWith(overrides: Partial<BatchTuning> = {}): BatchTuning {
  const tuning = { ...DEFAULT_TUNING, ...overrides };
  if (!(tuning.minBatchRows >= 1 && tuning.minBatchRows <= tuning.maxBatchRows)) throw new RangeError('need 1 ≤ minBatchRows ≤ maxBatchRows');
  if (!(tuning.dutyCycle > 0 && tuning.dutyCycle <= 1)) throw new RangeError('dutyCycle must be in (0, 1]');
  return { ...tuning, initialBatchRows: clampRows(tuning.initialBatchRows, tuning) };
}

/**
 * Doubles after a batch under half the target, halves after one over it,
 * otherwise holds: the size settles where a batch takes between half the
 * target and the target, without see-sawing around it.
 */
export function nextBatchRows(batchRows: number, batchMs: number, tuning: BatchTuning): number {
  if (batchMs > tuning.targetBatchMs) return clampRows(Math.floor(batchRows / 2), tuning);
  if (batchMs < tuning.targetBatchMs / 2) return clampRows(batchRows * 2, tuning);
  return batchRows;
}

/** After a lock or statement timeout: a smaller batch holds fewer locks for less time. */
export function shrinkAfterFailure(batchRows: number, tuning: BatchTuning): number {
  return clampRows(Math.floor(batchRows / 2), tuning);
}

/** The sleep after a batch that keeps the purge's share of the database at the duty cycle. */
export function pauseAfterMs(batchMs: number, tuning: BatchTuning): number {
  return Math.max(tuning.pauseMs, Math.round((batchMs * (1 - tuning.dutyCycle)) / tuning.dutyCycle));
}

/** Exponential backoff with full jitter: attempt 1 waits up to retryBaseMs, attempt 2 up to twice that… */
export function retryDelayMs(attempt: number, tuning: BatchTuning, random: () => number = Math.random): number {
  return Math.round(random() * tuning.retryBaseMs * 2 ** (attempt - 1));
}

function clampRows(rows: number, tuning: BatchTuning): number {
  return Math.min(tuning.maxBatchRows, Math.max(tuning.minBatchRows, rows));
}
