import { PoolClient, escapeIdentifier as q } from 'pg';
import { DataMap, sameTable } from '../datamap/datamap.types';
import { restoredTables, stagedTable } from './staging';

export class RestoreCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`the restored tenant failed its checks: ${problems.join('; ')}. The staging schema is kept for inspection.`);
    this.name = 'RestoreCheckError';
  }
}

/**
 * Checks the staged tenant before anyone relies on it: every row belongs to
 * the tenant, every foreign key resolves (inside staging for restored
 * parents, in the live table for global ones such as plans). Primary keys
 * are enforced by the staging tables' own constraints. Returns row counts.
 */
export async function checkStaging(client: PoolClient, map: DataMap, schema: string, tenantId: string): Promise<Record<string, number>> {
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  const tables = restoredTables(map);
  for (const t of tables) {
    const tenantColumn = t.kind === 'tenants' ? map.tenantTable.keyColumn : map.tenantColumn;
    const { rows } = await client.query<{ total: string; foreign: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE ${q(tenantColumn)}::text <> $1) AS foreign FROM ${stagedTable(schema, t)}`, [tenantId]);
    counts[t.name] = Number(rows[0].total);
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
  }
  if (problems.length) throw new RestoreCheckError(problems);
  return counts;
}
