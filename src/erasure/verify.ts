import { Pool } from 'pg';
import { TableRef } from '../datamap/datamap.types';
import { runCensus } from './census';
import { PurgePlan, ScopeValues, StepAction } from './erasure.types';

export interface TableVerification {
  table: TableRef;
  action: StepAction;
  /** rows still to delete, or still holding personal values; must be 0 */
  remainingRows: number;
  /** rows in scope kept because kept rows reference them (stated in the receipt) */
  retainedRows: number;
  /** anonymized rows left in place */
  keptRows: number;
}

export interface Verification {
  verified: boolean;
  verifiedAt: string;
  tables: TableVerification[];
}

/**
 * Counts what is left in a fresh snapshot, after every batch has committed:
 * deleted tables must have no row left in scope, anonymized tables no row in
 * scope still holding a personal value.
 */
export async function verifyPurge(pool: Pool, plan: PurgePlan, values: ScopeValues): Promise<Verification> {
  const counts = await runCensus(pool, plan, values);
  const tables = counts.map((c) => ({ table: c.table, action: c.action, remainingRows: c.pendingRows, retainedRows: c.retainedRows, keptRows: c.keptRows }));
  return { verified: tables.every((t) => t.remainingRows === 0), verifiedAt: new Date().toISOString(), tables };
}
