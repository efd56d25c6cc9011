import { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` holding a session advisory lock on one tenant's WAL segments in
 * the catalog: compaction (which writes a merged object, then swaps catalog
 * rows) and tenant shredding (which deletes the tenant's objects, then its
 * rows) take turns under it, so a merged object is never written after the
 * shredding listed the tenant's folder, where it would outlive the erasure.
 * `fn` gets the locked connection and runs its catalog work on it, so a
 * pool of one connection does not wait on itself. The lock dies with its
 * connection, should the process die holding it.
 */
export async function withArchiveTenantLock<T>(catalogPool: Pool, tenantId: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await catalogPool.connect();
  const key = `compliance-ops wal segments ${tenantId}`;
  let locked = false;
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    locked = true;
    return await fn(client);
  } finally {
    const unlocked = locked ? await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).then(() => true, () => false) : true;
    // A connection whose unlock failed may still hold the lock (or be in a failed transaction): end it rather than pool it.
    client.release(!unlocked);
  }
}

/** Runs `fn` in one transaction on `client`; rolls back on any error. */
export async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
