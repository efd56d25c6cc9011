import { Pool } from 'pg';
import { BatchTuning, tuningWith } from './batch-size';
import { purgeTableInBatches } from './batcher';
import { BatchProgress, PurgeCursor, PurgePlan, PurgeStep, ScopeValues } from './erasure.types';

export interface PurgeOptions {
  tuning?: Partial<BatchTuning>;
  /** where an earlier attempt got to (from its last heartbeat) */
  resume?: PurgeCursor | null;
  signal?: AbortSignal;
  /** before each step: e.g. read the legal hold again, so a hold placed mid-purge stops it */
  beforeStep?(step: PurgeStep, index: number): Promise<void>;
  /** after each committed batch, with the cursor a retry would resume from */
  onBatch?(progress: BatchProgress, cursor: PurgeCursor): void | Promise<void>;
}

export function startCursor(plan: PurgePlan): PurgeCursor {
  return { stepIndex: 0, affectedRows: plan.steps.map(() => 0), batches: 0 };
}

/** A heartbeat's cursor is trusted only if it fits this plan; otherwise start over (every batch is repeatable). */
export function resumeCursor(plan: PurgePlan, cursor: PurgeCursor | null | undefined): PurgeCursor {
  const fits = cursor && Number.isInteger(cursor.stepIndex) && cursor.stepIndex >= 0 && cursor.stepIndex <= plan.steps.length &&
    Array.isArray(cursor.affectedRows) && cursor.affectedRows.length === plan.steps.length;
  return fits ? { ...cursor, affectedRows: [...cursor.affectedRows] } : startCursor(plan);
}

/**
 * Runs the plan's steps in order (children before parents), each until it
 * affects no row, from the cursor on. Steps before the cursor are finished:
 * a parent is only reached once its children are gone.
 */
export async function runPurge(pool: Pool, plan: PurgePlan, values: ScopeValues, options: PurgeOptions = {}): Promise<PurgeCursor> {
  const tuning = tuningWith(options.tuning);
  const cursor = resumeCursor(plan, options.resume);
  for (; cursor.stepIndex < plan.steps.length; cursor.stepIndex += 1) {
    const index = cursor.stepIndex;
    const step = plan.steps[index];
    await options.beforeStep?.(step, index);
    await purgeTableInBatches(pool, plan.tenantId, step, values, {
      tuning,
      signal: options.signal,
      async onBatch(progress) {
        cursor.affectedRows[index] += progress.affectedRows;
        cursor.batches += 1;
        await options.onBatch?.(progress, { ...cursor, affectedRows: [...cursor.affectedRows] });
      },
    });
  }
  return cursor;
}
