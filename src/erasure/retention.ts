import { Pool } from 'pg';
import { DataMap, Erasure } from '../datamap/datamap.types';
import { runCensus } from './census';
import { PurgePlan, StepCount } from './erasure.types';
import { planPurge } from './plan';
import { PurgeOptions, runPurge } from './purge';
import { scopeValues } from './bind';
import { verifyPurge } from './verify';

/** Rows of one table, in one tenant, older than the cutoff. */
export interface ExpiredRows {
  tenantId: string;
  /** `name` or `schema.name` */
  table: string;
  /** default: the table's retention rule in the data map */
  ageColumn?: string;
  /** ISO 8601; rows strictly older go */
  cutoff: string;
  /** default delete; anonymize needs `hashKey` when a column is hashed */
  action?: Erasure;
}

export interface RetentionPurgeResult {
  count: StepCount;
  /** rows the committed batches affected */
  affectedRows: number;
  /** left in scope afterwards, in a fresh snapshot: 0 unless rows were still referenced or locked out */
  remainingRows: number;
  seconds: number;
}

function retentionPlan(map: DataMap, rows: ExpiredRows): PurgePlan {
  return planPurge(map, { kind: 'retention', ...rows });
}

/** The dry run: how many rows a purge would take now (and how many it must keep, being referenced). Changes nothing. */
export async function countExpired(pool: Pool, map: DataMap, rows: ExpiredRows, hashKey?: Buffer): Promise<StepCount> {
  const plan = retentionPlan(map, rows);
  const [count] = await runCensus(pool, plan, scopeValues(plan, { cutoff: rows.cutoff, hashKey }));
  return count;
}

/**
 * Purges one table's expired rows of one tenant with the erasure batch engine
 * (same batching, pacing, retries and RLS fence). For exact counts across
 * crashes use the activities, which record the census in the catalog first.
 */
export async function purgeExpired(pool: Pool, map: DataMap, rows: ExpiredRows, options: PurgeOptions & { hashKey?: Buffer } = {}): Promise<RetentionPurgeResult> {
  const started = performance.now();
  const plan = retentionPlan(map, rows);
  const values = scopeValues(plan, { cutoff: rows.cutoff, hashKey: options.hashKey });
  const [count] = await runCensus(pool, plan, values);
  const cursor = await runPurge(pool, plan, values, options);
  const verification = await verifyPurge(pool, plan, values);
  return {
    count,
    affectedRows: cursor.affectedRows[0],
    remainingRows: verification.tables[0].remainingRows,
    seconds: (performance.now() - started) / 1000,
  };
}
