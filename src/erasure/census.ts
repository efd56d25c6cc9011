import { Pool } from 'pg';
import { withTenantTransaction } from '../db/pool';
import { bind } from './bind';
import { PurgePlan, ScopeValues, StepCount } from './erasure.types';

/**
 * Counts every step's pending, retained and kept rows. The census is one
 * SELECT, and one statement reads one snapshot even under READ COMMITTED, so
 * all tables are counted at the same instant without holding a REPEATABLE
 * READ transaction open (withTenantTransaction sets the tenant with a query
 * first, after which the isolation level can no longer be chosen).
 */
export async function runCensus(pool: Pool, plan: PurgePlan, values: ScopeValues): Promise<StepCount[]> {
  if (plan.steps.length === 0) return [];
  const row = await withTenantTransaction(pool, plan.tenantId, async (client) => {
    const { rows } = await client.query<Record<string, string>>(plan.census.sql, bind(plan.census, values));
    return rows[0];
  });
  return plan.steps.map((step, i) => ({
    table: step.table,
    action: step.action,
    // count(*) is a bigint, which pg hands over as text.
    pendingRows: Number(row[`pending_${i}`]),
    retainedRows: Number(row[`retained_${i}`]),
    keptRows: Number(row[`kept_${i}`]),
  }));
}
