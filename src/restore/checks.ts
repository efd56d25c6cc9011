import { Pool, PoolClient, escapeIdentifier as q } from 'pg';
import { DataMap, sameTable, TableEntry } from '../datamap/datamap.types';
import { runBounded } from '../export/run-bounded';
import { restoredTables, stagedTable } from './staging';

export class RestoreCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`the restored tenant failed its checks: ${problems.join('; ')}. The staging schema is kept for inspection.`);
    this.name = 'RestoreCheckError';
  }
}

/** Tables checked at once, each on its own connection: every check only reads the staging schema (and global parents). */
const PARALLEL_CHECKS = 3;

/**
 * Checks the staged tenant before anyone relies on it: every row belongs to
 * the tenant, every foreign key resolves (inside staging for restored
 * parents, in the live table for global ones such as plans). Primary keys
 * are enforced by the staging tables' own constraints. Returns row counts.
 * Statistics on the staged keys come first (analyzeStaging), so these checks
 * and the swap join by hashing.
 */
export async function checkStaging(appPool: Pool, map: DataMap, schema: string, tenantId: string): Promise<Record<string, number>> {
  const tables = restoredTables(map);
  const onEach = <T>(fn: (client: PoolClient, t: TableEntry) => Promise<T>) => runBounded(tables.map((t) => async () => {
    const client = await appPool.connect();
    try {
      return await fn(client, t);
    } finally {
      client.release();
    }
  }), PARALLEL_CHECKS);
  await onEach((client, t) => analyzeStaged(client, map, schema, t));
  const results = await onEach((client, t) => checkTable(client, map, tables, schema, tenantId, t));
  const problems = results.flatMap((r) => r.problems);
  if (problems.length) throw new RestoreCheckError(problems);
  return Object.fromEntries(tables.map((t, i) => [t.name, results[i].rows]));
}

/** Statistics on a staged table's key and tenant column only (not its values): a few milliseconds. */
async function analyzeStaged(client: PoolClient, map: DataMap, schema: string, t: TableEntry): Promise<void> {
  const tenantColumn = t.kind === 'tenants' ? map.tenantTable.keyColumn : map.tenantColumn;
  const columns = [...new Set([tenantColumn, ...t.primaryKey])];
  await client.query(`ANALYZE ${stagedTable(schema, t)} (${columns.map(q).join(', ')})`);
}

async function checkTable(
  client: PoolClient, map: DataMap, tables: TableEntry[], schema: string, tenantId: string, t: TableEntry,
): Promise<{ rows: number; problems: string[] }> {
  const problems: string[] = [];
  const tenantColumn = t.kind === 'tenants' ? map.tenantTable.keyColumn : map.tenantColumn;
  const { rows } = await client.query<{ total: string; foreign: string }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE ${q(tenantColumn)}::text <> $1) AS foreign FROM ${stagedTable(schema, t)}`, [tenantId]);
  if (Number(rows[0].foreign) > 0) problems.push(`${t.name}: ${rows[0].foreign} rows of another tenant`);
  for (const fk of t.foreignKeys) {
    const parentStaged = tables.some((p) => sameTable(p, fk.to));
    const parent = parentStaged ? stagedTable(schema, fk.to) : `${q(fk.to.schema)}.${q(fk.to.name)}`;
    const notNull = fk.columns.map((c) => `c.${q(c.from)} IS NOT NULL`).join(' AND ');
    const join = fk.columns.map((c) => `p.${q(c.to)} = c.${q(c.from)}`).join(' AND ');
    const { rows: broken } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${stagedTable(schema, t)} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${join})`);
    if (Number(broken[0].n) > 0) problems.push(`${t.name}: ${broken[0].n} rows break ${fk.constraint}`);
  }
  return { rows: Number(rows[0].total), problems };
}
