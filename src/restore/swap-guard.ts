import { Pool, PoolClient } from 'pg';
import { DataMap } from '../datamap/datamap.types';
import { withTransaction } from '../db/pool';
import { conflict } from '../errors';
import { eraseTombstonedSubjects, ReeraseDependencies } from './reerase';

/**
 * Erasures and in-place swaps of one tenant are ordered by one advisory lock
 * in the application database. The swap holds it for its whole transaction
 * and, under it, reads the tombstones; an erasure records its tombstone and
 * then waits for the lock before its purge starts. So a swap either sees the
 * tombstone (and erases the subject in staging first, or refuses an erased
 * tenant) or commits before the purge begins, which then purges the swapped-in
 * rows too. Without it, a subject erased between a restore's erase step and
 * its swap would come back.
 */
const lockKey = (tenantId: string) => `compliance-ops restore swap ${tenantId}`;

/** Inside the swap's transaction, before it writes: the lock, then the tombstones as they are now. Returns subjects erased again. */
export async function guardSwap(client: PoolClient, deps: ReeraseDependencies, map: DataMap, schema: string, tenantId: string): Promise<number> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey(tenantId)]);
  await refuseErasedTenant(deps.catalogPool, tenantId);
  return eraseTombstonedSubjects(deps, map, schema, tenantId);
}

/** An erasure's purge, once its tombstone is recorded: waits for any swap of the tenant in flight to commit. */
export async function waitForSwaps(appPool: Pool, tenantId: string): Promise<void> {
  await withTransaction(appPool, (client) => client.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [lockKey(tenantId)]));
}

export async function refuseErasedTenant(catalogPool: Pool, tenantId: string): Promise<void> {
  const { rows } = await catalogPool.query<{ created_at: Date }>('SELECT created_at FROM tombstones WHERE tenant_id = $1 AND subject_hash IS NULL', [tenantId]);
  if (rows.length) {
    throw conflict('tenant_erased', `Tenant ${tenantId} was erased on ${rows[0].created_at.toISOString()}; its data must not come back, so it cannot be restored.`);
  }
}
