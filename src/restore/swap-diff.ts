import { escapeIdentifier as q } from 'pg';
import { TableEntry } from '../datamap/datamap.types';
import { stagedTable } from './staging';

/**
 * The statements of a swap by difference for one table. Staged and live rows
 * are matched by primary key and compared as whole rows, byte for byte
 * (`*=`, record image equality: values detoasted; 1.0 and 1.00 differ, as
 * they do to a reader; a row whose bytes differ but that reads the same is
 * merely rewritten with its own value). Keys travel as text, one text[]
 * parameter per key column, cast back to the column's type.
 */

const live = (t: TableEntry) => `${q(t.schema)}.${q(t.name)}`;

/** A differing row: its key as text (primary-key order) and what the live row needs. */
export interface DiffRow {
  change: 'insert' | 'update' | 'delete';
  key: string[];
}

/**
 * One pass over the tenant's live rows and the staged ones: rows only
 * staged (insert), only live (delete), or in both but not identical
 * (update), over the live columns (a staged column the live table dropped
 * is not the live table's to compare). `$1` the tenant, `$2` the most rows to return.
 */
export function diffQuery(t: TableEntry, tenantColumn: string, schema: string): string {
  const pk = t.primaryKey.map(q);
  const keys = pk.map((k, i) => `coalesce(s.${k}, l.${k})::text AS k${i}`);
  return `SELECT CASE WHEN l.${pk[0]} IS NULL THEN 'insert' WHEN s.${pk[0]} IS NULL THEN 'delete' ELSE 'update' END AS change, ${keys.join(', ')}
    FROM (SELECT ${t.columns.map((c) => q(c.name)).join(', ')} FROM ${live(t)} WHERE ${q(tenantColumn)} = $1) l
    FULL JOIN (SELECT ${t.columns.map((c) => q(c.name)).join(', ')} FROM ${stagedTable(schema, t)}) s ON ${pk.map((k) => `l.${k} = s.${k}`).join(' AND ')}
    WHERE l.${pk[0]} IS NULL OR s.${pk[0]} IS NULL OR NOT (l *= s)
    LIMIT $2`;
}

/** Statements writing the rows of a diff by key: `$1…$n` one text[] per key column, then the tenant. */
export function keyedStatements(t: TableEntry, tenantColumn: string, schema: string): { insert: string; update: string | null; delete: string } {
  const cols = t.columns.map((c) => q(c.name));
  const others = t.columns.filter((c) => !t.primaryKey.includes(c.name)).map((c) => q(c.name));
  const types = t.primaryKey.map((k) => {
    const column = t.columns.find((c) => c.name === k);
    if (!column) throw new Error(`${t.schema}.${t.name}: primary-key column ${k} is not among its columns`);
    return column.type;
  });
  const n = t.primaryKey.length;
  const keys = `unnest(${types.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS k(${types.map((_, i) => `c${i}`).join(', ')})`;
  const matches = (alias: string) => t.primaryKey.map((k, i) => `${alias}.${q(k)} = k.c${i}::${types[i]}`).join(' AND ');
  const tenant = `$${n + 1}`;
  return {
    insert: `INSERT INTO ${live(t)} (${cols.join(', ')}) OVERRIDING SYSTEM VALUE
      SELECT ${cols.map((c) => `s.${c}`).join(', ')} FROM ${stagedTable(schema, t)} s JOIN ${keys} ON ${matches('s')}
      WHERE s.${q(tenantColumn)} = ${tenant}`,
    update: others.length === 0 ? null : `UPDATE ${live(t)} l SET ${others.map((c) => `${c} = s.${c}`).join(', ')}
      FROM ${stagedTable(schema, t)} s JOIN ${keys} ON ${matches('s')}
      WHERE ${t.primaryKey.map((k) => `l.${q(k)} = s.${q(k)}`).join(' AND ')} AND l.${q(tenantColumn)} = ${tenant}`,
    delete: `DELETE FROM ${live(t)} l USING ${keys} WHERE ${matches('l')} AND l.${q(tenantColumn)} = ${tenant}`,
  };
}

/** Key rows → one array per key column, as keyedStatements takes them. */
export function keyColumns(rows: DiffRow[], width: number): string[][] {
  return Array.from({ length: width }, (_, i) => rows.map((r) => r.key[i]));
}
