import { DataMap, Erasure, TableEntry, TenantKeyType, sameTable } from '../datamap/datamap.types';
import { badInput } from '../errors';
import { PurgeTarget } from './erasure.types';

/** A target checked against the data map, with its table and age column resolved. */
export type ResolvedScope =
  | { kind: 'tenant' }
  | { kind: 'subject'; column: string }
  | { kind: 'retention'; entry: TableEntry; ageColumn: string; action: Erasure };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^-?[0-9]{1,19}$/;

/** Throws bad_input unless the target makes sense for this data map. Pure. */
export function resolveScope(map: DataMap, target: PurgeTarget): ResolvedScope {
  checkTenantId(target.tenantId, map.tenantTable.keyType);
  if (target.kind === 'tenant') return { kind: 'tenant' };
  if (target.kind === 'subject') {
    if (!map.subject) {
      throw badInput('no_subject_table', 'The data map has no subject table; name one in the data map config (`subject: {table, identityColumns}`).');
    }
    if (!map.subject.identityColumns.includes(target.subject.column)) {
      throw badInput('unknown_subject_column', `Subjects are identified by ${map.subject.identityColumns.join(' or ')}, not "${target.subject.column}".`,
        { identityColumns: map.subject.identityColumns });
    }
    if (!subjectEntry(map).primaryKey.length) {
      throw badInput('subject_without_key', `The subject table ${map.subject.table.name} has no primary key; add one so erasure can name its rows.`);
    }
    return { kind: 'subject', column: target.subject.column };
  }
  const entry = findTable(map, target.table);
  const ageColumn = target.ageColumn ?? entry.retention?.ageColumn;
  if (!ageColumn || !entry.columns.some((c) => c.name === ageColumn)) {
    throw badInput('unknown_age_column', `Table ${target.table} has no age column ${ageColumn ? `"${ageColumn}"` : '(none given, none in the data map)'}; name a timestamp column.`);
  }
  if (Number.isNaN(Date.parse(target.cutoff))) {
    throw badInput('invalid_cutoff', `The cutoff "${target.cutoff}" is not an ISO 8601 timestamp (e.g. 2026-01-31T00:00:00Z).`);
  }
  return { kind: 'retention', entry, ageColumn, action: target.action ?? { action: 'delete' } };
}

export function checkTenantId(tenantId: string, keyType: TenantKeyType): void {
  const ok = keyType === 'uuid' ? UUID.test(tenantId) : keyType === 'bigint' ? BIGINT.test(tenantId) : tenantId.length > 0 && tenantId.length <= 200;
  if (!ok) throw badInput('invalid_tenant_id', `Tenant ids are of type ${keyType}; the one given is not.`);
}

/** A tenant or child table by `name` or `schema.name`; the tenants table and global tables are not purgeable by age. */
export function findTable(map: DataMap, name: string): TableEntry {
  const matches = map.tables.filter((t) => t.name === name || `${t.schema}.${t.name}` === name);
  const entry = matches.length === 1 ? matches[0] : undefined;
  if (!entry || (entry.kind !== 'tenant' && entry.kind !== 'child')) {
    throw badInput('unknown_table', `No tenant data table named "${name}"; \`compliance-ops datamap\` lists them.`);
  }
  return entry;
}

export function subjectEntry(map: DataMap): TableEntry {
  const entry = map.subject && map.tables.find((t) => sameTable(t, map.subject!.table));
  if (!entry) throw badInput('no_subject_table', 'The data map names a subject table that is not among its tables.');
  return entry;
}
