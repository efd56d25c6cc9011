import { Pool, PoolClient } from 'pg';

/** A pool with a name in pg_stat_activity, so operators can tell our sessions apart. */
export function createPool(connectionString: string, max = 10): Pool {
  const pool = new Pool({ connectionString, max, application_name: 'compliance-ops' });
  // An idle client that loses its server must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * A transaction on one tenant's data. `app.current_tenant_id` is set
 * transaction-locally, so the application's RLS policies fence the service too
 * and the setting never leaks to the next user of the pooled connection.
 */
export async function withTenantTransaction<T>(
  pool: Pool,
  tenantId: string,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    await client.query(`SELECT set_config('app.current_tenant_id', $1, true)`, [tenantId]);
    return fn(client);
  });
}
