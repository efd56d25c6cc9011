import { DatabaseError, PoolClient, escapeIdentifier as q } from 'pg';
import { DataMap, TableEntry, sameTable } from '../datamap/datamap.types';
import { withTenantTransaction } from '../db/pool';
import { logger } from '../logger';
import { ReeraseDependencies } from './reerase';
import { restoredTables, stagedTable } from './staging';
import { guardSwap } from './swap-guard';
import { DiffRow, diffQuery, keyColumns, keyedStatements } from './swap-diff';

const live = (t: TableEntry) => `${q(t.schema)}.${q(t.name)}`;

/** Rows an in-place swap wrote, per table. */
export type SwapCounts = Record<string, { inserted: number; updated: number; deleted: number }>;

/** How the swap went: only the rows that differ, or every row of the tenant (the fallback). A type: it travels in a Temporal result. */
export type SwapResult = { by: 'difference' | 'whole tenant'; rows: SwapCounts };

/**
 * The order a swap touches tables in: the tenants row first (every tenant
 * table references it), then inserts and updates parents first, deletes
 * children first. `map.deleteOrder` lists children before their parents.
 */
export function swapOrder(map: DataMap): { tenantsTable: TableEntry | undefined; parentsFirst: TableEntry[]; childrenFirst: TableEntry[] } {
  const tables = restoredTables(map);
  const childrenFirst = map.deleteOrder.map((ref) => tables.find((t) => sameTable(t, ref))).filter((t): t is TableEntry => !!t);
  const rows = childrenFirst.filter((t) => t.kind !== 'tenants');
  return { tenantsTable: childrenFirst.find((t) => t.kind === 'tenants'), parentsFirst: [...rows].reverse(), childrenFirst: rows };
}

/** A constraint an intermediate state of the swap by difference can break although the end state is valid. */
const CLASHES = new Set(['23505', '23503', '23P01']);

/**
 * Makes the tenant's live rows equal to the staged ones in one transaction
 * that first takes the tenant's swap lock and reads its tombstones again
 * (swap-guard.ts: an erasure racing the swap never loses),
 * under the tenant's RLS setting, so other tenants keep writing throughout
 * (only this tenant's rows are locked) and readers see either the old tenant
 * or the restored one. Explicit ids are written, so sequences are first
 * moved ahead of every restored id.
 *
 * Only rows that differ are written (swap-diff.ts: one pass per table finds
 * them): missing rows are inserted parents first, rows that differ updated
 * in place (their key, which others reference, stays), rows the restore does
 * not have deleted children first. A restore that undoes a few thousand
 * changes writes a few thousand rows, not the whole tenant. That order
 * satisfies every foreign key to a primary key; a unique or exclusion
 * constraint on other columns can still clash midway (a value that moved
 * from one row to another), and then the transaction falls back, from a
 * savepoint, to replacing every row of the tenant (deletes children first,
 * inserts parents first), as it does when most rows differ anyway or a
 * table has no primary key.
 */
export async function swapInPlace(deps: ReeraseDependencies, map: DataMap, schema: string, tenantId: string): Promise<SwapResult> {
  const order = swapOrder(map);
  return withTenantTransaction(deps.appPool, tenantId, async (client) => {
    await guardSwap(client, deps, map, schema, tenantId);
    await advanceSequences(client, order.parentsFirst, schema);
    // Rows of a table without a primary key cannot be matched one to one.
    if (order.parentsFirst.some((t) => t.primaryKey.length === 0)) return { by: 'whole tenant', rows: await swapWhole(client, map, order, schema, tenantId) };
    await client.query('SAVEPOINT swap_by_difference');
    try {
      const counts = await swapDifference(client, map, order, schema, tenantId);
      await client.query('RELEASE SAVEPOINT swap_by_difference');
      if (counts) return { by: 'difference', rows: counts };
    } catch (error) {
      if (!(error instanceof DatabaseError && error.code && CLASHES.has(error.code))) throw error;
      await client.query('ROLLBACK TO SAVEPOINT swap_by_difference');
      logger.info({ tenantId, schema, constraint: error.constraint, sqlstate: error.code }, 'restore swap: rows differ in a way that clashes midway; replacing every row of the tenant instead');
    }
    return { by: 'whole tenant', rows: await swapWhole(client, map, order, schema, tenantId) };
  });
}

type Order = ReturnType<typeof swapOrder>;

/**
 * Differing rows the swap writes by key. Past this the tenant is replaced
 * wholesale (about as cheap once most rows change), so keys held in memory
 * stay bounded.
 */
const MAX_DIFF_ROWS = 100_000;

/** The swap by difference; null when more rows differ than MAX_DIFF_ROWS. */
async function swapDifference(client: PoolClient, map: DataMap, order: Order, schema: string, tenantId: string): Promise<SwapCounts | null> {
  const diffs: Array<{ t: TableEntry; rows: DiffRow[] }> = [];
  let total = 0;
  for (const t of order.parentsFirst) {
    const { rows } = await client.query<{ change: DiffRow['change'] } & Record<string, string>>(
      diffQuery(t, map.tenantColumn, schema), [tenantId, MAX_DIFF_ROWS - total + 1]);
    total += rows.length;
    if (total > MAX_DIFF_ROWS) return null;
    diffs.push({ t, rows: rows.map((r) => ({ change: r.change, key: t.primaryKey.map((_, i) => r[`k${i}`]) })) });
  }
  const counts: SwapCounts = {};
  if (order.tenantsTable) counts[order.tenantsTable.name] = await upsertTenantRow(client, order.tenantsTable, schema);
  const write = async (t: TableEntry, sql: string | null, rows: DiffRow[]) => {
    if (!sql || rows.length === 0) return 0;
    return (await client.query(sql, [...keyColumns(rows, t.primaryKey.length), tenantId])).rowCount ?? 0;
  };
  for (const { t, rows } of diffs) {
    const sql = keyedStatements(t, map.tenantColumn, schema);
    counts[t.name] = {
      inserted: await write(t, sql.insert, rows.filter((r) => r.change === 'insert')),
      updated: await write(t, sql.update, rows.filter((r) => r.change === 'update')),
      deleted: 0,
    };
  }
  for (const { t, rows } of [...diffs].reverse()) {
    counts[t.name].deleted = await write(t, keyedStatements(t, map.tenantColumn, schema).delete, rows.filter((r) => r.change === 'delete'));
  }
  return counts;
}

/** Every row of the tenant replaced: deletes children first, inserts parents first. */
async function swapWhole(client: PoolClient, map: DataMap, order: Order, schema: string, tenantId: string): Promise<SwapCounts> {
  const counts: SwapCounts = {};
  for (const t of order.childrenFirst) {
    counts[t.name] = { inserted: 0, updated: 0, deleted: (await client.query(`DELETE FROM ${live(t)} WHERE ${q(map.tenantColumn)} = $1`, [tenantId])).rowCount ?? 0 };
  }
  if (order.tenantsTable) counts[order.tenantsTable.name] = await upsertTenantRow(client, order.tenantsTable, schema);
  for (const t of order.parentsFirst) {
    const cols = t.columns.map((c) => q(c.name)).join(', ');
    counts[t.name].inserted = (await client.query(`INSERT INTO ${live(t)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${stagedTable(schema, t)}`)).rowCount ?? 0;
  }
  return counts;
}

/** The tenant's own row is updated in place (never deleted: every tenant table references it), and only if it differs. */
async function upsertTenantRow(client: PoolClient, t: TableEntry, schema: string): Promise<SwapCounts[string]> {
  const cols = t.columns.map((c) => q(c.name));
  const others = t.columns.filter((c) => !t.primaryKey.includes(c.name)).map((c) => q(c.name));
  const { rows } = await client.query<{ inserted: boolean }>(
    `INSERT INTO ${live(t)} AS l (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${stagedTable(schema, t)}
     ON CONFLICT (${t.primaryKey.map(q).join(', ')}) DO ${others.length
    ? `UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')} WHERE NOT (l *= EXCLUDED)`
    : 'NOTHING'}
     RETURNING xmax = 0 AS inserted`);
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted, deleted: 0 };
}

/** More nextval() calls than this and the operator is asked to setval instead. */
const MAX_NEXTVAL_STEPS = 1_000_000n;

/**
 * Every sequence of the restored tables must be ahead of the restored ids,
 * or the application's next insert collides with a restored row. setval
 * needs UPDATE on the sequence, which a service role usually lacks; USAGE
 * allows nextval, so a modest gap is closed by drawing values (never
 * rewinding). Two queries find every sequence and where each stands.
 */
async function advanceSequences(client: PoolClient, tables: TableEntry[], schema: string): Promise<void> {
  const { rows: owned } = await client.query<{ i: number; column: string; seq: string }>(
    `SELECT t.i::int AS i, a.attname AS column, pg_get_serial_sequence(format('%I.%I', t.schema, t.name), a.attname) AS seq
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(schema, name, i)
     JOIN pg_attribute a ON a.attrelid = format('%I.%I', t.schema, t.name)::regclass AND a.attnum > 0 AND NOT a.attisdropped
     WHERE pg_get_serial_sequence(format('%I.%I', t.schema, t.name), a.attname) IS NOT NULL`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)]);
  if (owned.length === 0) return;
  const { rows } = await client.query<{ j: number; last: string | null; max: string | null }>(owned.map((o, j) =>
    `(SELECT ${j} AS j, pg_sequence_last_value($${j + 1}::regclass)::text AS last, (SELECT max(${q(o.column)})::text FROM ${stagedTable(schema, tables[o.i - 1])}) AS max)`,
  ).join(' UNION ALL '), owned.map((o) => o.seq));
  const states = new Map(rows.map((r) => [r.j, r]));
  for (const [j, { column, seq, i }] of owned.entries()) {
    const { max } = states.get(j)!;
    if (max === null) continue;
    // NULL: nextval() was never called since the last setval(…, false) (a fresh load does that); drawing one value says where it stands.
    const last = states.get(j)!.last ?? (await client.query<{ v: string }>('SELECT nextval($1::regclass)::text AS v', [seq])).rows[0].v;
    if (BigInt(last) >= BigInt(max)) continue;
    const gap = BigInt(max) - BigInt(last);
    if (gap > MAX_NEXTVAL_STEPS) {
      throw new Error(`sequence ${seq} is at ${last}, behind restored ${tables[i - 1].name}.${column} ${max}; advance it (SELECT setval('${seq}', ${max})) and retry`);
    }
    await client.query(`SELECT max(nextval($1::regclass)) FROM generate_series(1, $2::bigint)`, [seq, gap.toString()]);
  }
}
