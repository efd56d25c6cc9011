import { Pool, PoolClient, escapeIdentifier as q } from 'pg';
import { DataMap, TableEntry, sameTable } from '../datamap/datamap.types';
import { withTenantTransaction } from '../db/pool';
import { restoredTables, stagedTable } from './staging';

const live = (t: TableEntry) => `${q(t.schema)}.${q(t.name)}`;

/**
 * Replaces the tenant's live rows with the staged ones in one transaction,
 * under the tenant's RLS setting, so other tenants keep writing throughout
 * (only this tenant's rows are locked) and readers see either the old tenant
 * or the restored one. Deletes children first and inserts parents first; the
 * tenant's own row in the tenants table is updated in place rather than
 * deleted. Explicit ids are inserted, so sequences are first moved ahead of
 * every restored id.
 */
export async function swapInPlace(appPool: Pool, map: DataMap, schema: string, tenantId: string): Promise<Record<string, number>> {
  const tables = restoredTables(map);
  const ordered = map.deleteOrder.map((ref) => tables.find((t) => sameTable(t, ref))).filter((t): t is TableEntry => !!t);
  const tenantsTable = ordered.find((t) => t.kind === 'tenants');
  const rowTables = ordered.filter((t) => t.kind !== 'tenants');
  return withTenantTransaction(appPool, tenantId, async (client) => {
    for (const t of rowTables) await advanceSequences(client, t, schema);
    for (const t of rowTables) await client.query(`DELETE FROM ${live(t)} WHERE ${q(map.tenantColumn)} = $1`, [tenantId]);
    const inserted: Record<string, number> = {};
    if (tenantsTable) inserted[tenantsTable.name] = await upsertTenantRow(client, tenantsTable, schema);
    for (const t of [...rowTables].reverse()) {
      const cols = t.columns.map((c) => q(c.name)).join(', ');
      const result = await client.query(`INSERT INTO ${live(t)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${stagedTable(schema, t)}`);
      inserted[t.name] = result.rowCount ?? 0;
    }
    return inserted;
  });
}

async function upsertTenantRow(client: PoolClient, t: TableEntry, schema: string): Promise<number> {
  const cols = t.columns.map((c) => q(c.name));
  const others = t.columns.filter((c) => !t.primaryKey.includes(c.name)).map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`);
  const result = await client.query(
    `INSERT INTO ${live(t)} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${stagedTable(schema, t)}
     ON CONFLICT (${t.primaryKey.map(q).join(', ')}) DO ${others.length ? `UPDATE SET ${others.join(', ')}` : 'NOTHING'}`);
  return result.rowCount ?? 0;
}

/** More nextval() calls than this and the operator is asked to setval instead. */
const MAX_NEXTVAL_STEPS = 1_000_000n;

/**
 * Every sequence of the table must be ahead of the restored ids, or the
 * application's next insert collides with a restored row. setval needs
 * UPDATE on the sequence, which a service role usually lacks; USAGE allows
 * nextval, so a modest gap is closed by drawing values (never rewinding).
 */
async function advanceSequences(client: PoolClient, t: TableEntry, schema: string): Promise<void> {
  const { rows } = await client.query<{ column: string; seq: string }>(
    `SELECT a.attname AS column, pg_get_serial_sequence(format('%I.%I', $1::text, $2::text), a.attname) AS seq
     FROM pg_attribute a WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [t.schema, t.name]);
  for (const { column, seq } of rows.filter((r) => r.seq)) {
    const { rows: state } = await client.query<{ last: string | null; max: string | null }>(
      `SELECT pg_sequence_last_value($1::regclass)::text AS last, (SELECT max(${q(column)})::text FROM ${stagedTable(schema, t)}) AS max`, [seq]);
    const { last, max } = state[0];
    if (max === null || (last !== null && BigInt(last) >= BigInt(max))) continue;
    const gap = BigInt(max) - BigInt(last ?? '0');
    if (gap > MAX_NEXTVAL_STEPS) {
      throw new Error(`sequence ${seq} is at ${last ?? 'its start'}, behind restored ${t.name}.${column} ${max}; advance it (SELECT setval('${seq}', ${max})) and retry`);
    }
    await client.query(`SELECT max(nextval($1::regclass)) FROM generate_series(1, $2::bigint)`, [seq, gap.toString()]);
  }
}
