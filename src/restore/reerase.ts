import { Pool, escapeIdentifier as q } from 'pg';
import { DataMap, TableRef } from '../datamap/datamap.types';
import { ErasureCatalog } from '../erasure/erasure.catalog';
import { scopeValues } from '../erasure/bind';
import { planPurge } from '../erasure/plan';
import { runPurge } from '../erasure/purge';
import { resolveSubjectKeys } from '../erasure/subject-keys';
import { SubjectSelector } from '../erasure/erasure.types';
import { hashSubject } from '../receipts/subject-hash';
import { restoredTables } from './staging';

export interface ReeraseDependencies {
  appPool: Pool;
  catalogPool: Pool;
  subjectHashSecret: string | Buffer;
}

/**
 * The data map with every restored table moved to the staging schema, so
 * the erasure engine (plan, subject keys, batched purge) runs unchanged
 * against the staged copy. Global tables stay where they are.
 */
export function rebaseDataMap(map: DataMap, schema: string): DataMap {
  const staged = new Set(restoredTables(map).map((t) => `${t.schema}.${t.name}`));
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = rewrite(v);
      const ref = value as Partial<TableRef>;
      if (typeof ref.schema === 'string' && typeof ref.name === 'string' && staged.has(`${ref.schema}.${ref.name}`)) out.schema = schema;
      return out;
    }
    return value;
  };
  return rewrite(map) as DataMap;
}

/**
 * Erases again, in staging, every subject the tenant's tombstones name. A
 * tombstone holds only hashSubject() of the identifier the erasure was asked
 * for, so each identity value in the staged subject table is hashed the same
 * way and compared. Returns how many subjects were erased again.
 */
export async function eraseTombstonedSubjects(deps: ReeraseDependencies, map: DataMap, schema: string, tenantId: string): Promise<number> {
  const { rows: tombstones } = await deps.catalogPool.query<{ subject_hash: string }>(
    'SELECT subject_hash FROM tombstones WHERE tenant_id = $1 AND subject_hash IS NOT NULL', [tenantId]);
  if (tombstones.length === 0 || !map.subject) return 0;
  const hashes = new Set(tombstones.map((t) => t.subject_hash));
  const columns = map.subject.identityColumns;
  const { rows } = await deps.appPool.query<Record<string, unknown>>(
    `SELECT ${columns.map((c) => `${q(c)}::text AS ${q(c)}`).join(', ')} FROM ${q(schema)}.${q(map.subject.table.name)}`);
  const subjects: SubjectSelector[] = [];
  for (const row of rows) {
    const match = columns.find((c) => typeof row[c] === 'string' && row[c] !== '' && hashes.has(hashSubject(deps.subjectHashSecret, tenantId, row[c] as string)));
    if (match) subjects.push({ column: match, value: row[match] as string });
  }
  const staged = rebaseDataMap(map, schema);
  const catalog = new ErasureCatalog(deps.catalogPool);
  for (const subject of subjects) {
    const plan = planPurge(staged, { kind: 'subject', tenantId, subject });
    const subjectKeys = await resolveSubjectKeys(deps.appPool, staged, tenantId, subject);
    const hashKey = plan.needsHashKey ? await catalog.hashKey(tenantId) : undefined;
    await runPurge(deps.appPool, plan, scopeValues(plan, { subjectKeys, subjectValue: subject.value, hashKey }));
  }
  return subjects.length;
}
