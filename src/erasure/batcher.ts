import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { withTenantTransaction } from '../db/pool';
import { isRetryable } from '../db/sqlstate';
import { BatchTuning, nextBatchRows, pauseAfterMs, retryDelayMs, shrinkAfterFailure } from './batch-size';
import { bind } from './bind';
import { BatchProgress, PurgeStep, ScopeValues } from './erasure.types';

export interface TableBatchOptions {
  tuning: BatchTuning;
  signal?: AbortSignal;
  /**
   * Called after each batch has committed. Throwing stops the purge there —
   * exactly what a crash between a COMMIT and its heartbeat looks like.
   */
  onBatch?(progress: BatchProgress): void | Promise<void>;
}

/**
 * Runs one step's batch until it affects no row. Each batch is its own short
 * transaction on the tenant (RLS fences it too) with lock and statement
 * timeouts; a batch that times out, deadlocks or hits a serialization failure
 * is retried smaller after a backoff. Nothing here needs to remember which
 * rows went: a batch selects only rows still in scope, so repeating one after
 * a crash is harmless. Returns the rows the committed batches affected.
 */
export async function purgeTableInBatches(pool: Pool, tenantId: string, step: PurgeStep, values: ScopeValues, options: TableBatchOptions) {
  const { tuning, signal } = options;
  let batchRows = tuning.initialBatchRows;
  let affectedRows = 0;
  let batches = 0;
  for (;;) {
    signal?.throwIfAborted();
    const started = performance.now();
    const { affected, rowsAsked } = await runWithRetries(pool, tenantId, step, values, batchRows, options);
    const batchMs = performance.now() - started;
    affectedRows += affected;
    batches += 1;
    await options.onBatch?.({ table: step.table, affectedRows: affected, batchRows: rowsAsked, batchMs: Math.round(batchMs) });
    if (affected === 0) return { affectedRows, batches };
    batchRows = nextBatchRows(rowsAsked, batchMs, tuning);
    const pauseMs = pauseAfterMs(batchMs, tuning);
    if (pauseMs > 0) await sleep(pauseMs, undefined, { signal });
  }
}

async function runWithRetries(pool: Pool, tenantId: string, step: PurgeStep, values: ScopeValues, batchRows: number, options: TableBatchOptions) {
  const { tuning, signal } = options;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { affected: await runBatch(pool, tenantId, step, values, batchRows, tuning), rowsAsked: batchRows };
    } catch (error) {
      if (!isRetryable(error) || attempt >= tuning.maxAttempts) throw error;
      batchRows = shrinkAfterFailure(batchRows, tuning);
      await sleep(retryDelayMs(attempt, tuning), undefined, { signal });
    }
  }
}

async function runBatch(pool: Pool, tenantId: string, step: PurgeStep, values: ScopeValues, batchRows: number, tuning: BatchTuning): Promise<number> {
  return withTenantTransaction(pool, tenantId, async (client) => {
    // Both SET LOCAL: they end with the transaction and never reach the pool's next user.
    await client.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
      [`${tuning.lockTimeoutMs}ms`, `${tuning.statementTimeoutMs}ms`]);
    const result = await client.query(step.batch.sql, bind(step.batch, { ...values, batchRows }));
    return result.rowCount ?? 0;
  });
}
