import { Pool } from 'pg';
import { DataMap } from '../datamap/datamap.types';
import { withTenantTransaction } from '../db/pool';
import { SQLSTATE, sqlState } from '../db/sqlstate';
import { bind } from './bind';
import { SubjectSelector } from './erasure.types';
import { subjectKeyColumns, tenantFence } from './predicates';
import { resolveScope, subjectEntry } from './scope';
import { q, qualified, SqlBuilder } from './sql-builder';

/**
 * The keys of the subject's rows (primary key, plus any column another
 * table's foreign key references) as JSON text: an array of objects keyed by
 * column name. Kept as text: a bigint key must never pass through a JS number.
 * `[]` when no row matches, including a value the column's type cannot hold
 * (an id column given "abc"): erasing an unknown subject erases nothing.
 */
export async function resolveSubjectKeys(pool: Pool, map: DataMap, tenantId: string, subject: SubjectSelector): Promise<string> {
  const scope = resolveScope(map, { kind: 'subject', tenantId, subject });
  const entry = subjectEntry(map);
  const b = new SqlBuilder();
  const fence = tenantFence({ map, scope, b }, entry, 's');
  const columns = subjectKeyColumns(map).map((c) => `s.${q(c)}`).join(', ');
  const sql = `SELECT coalesce(jsonb_agg(to_jsonb(k)), '[]')::text AS keys
FROM (SELECT ${columns} FROM ${qualified(entry)} AS s WHERE ${fence} AND s.${q(subject.column)} = ${b.param('identityValue')}) AS k`;
  const params = bind(b.statement(sql), { tenantId, identityValue: subject.value });
  try {
    return await withTenantTransaction(pool, tenantId, async (client) => (await client.query<{ keys: string }>(sql, params)).rows[0].keys);
  } catch (error) {
    if (sqlState(error) === SQLSTATE.invalidTextRepresentation || sqlState(error) === NUMERIC_OUT_OF_RANGE) return '[]';
    throw error;
  }
}

const NUMERIC_OUT_OF_RANGE = '22003';
