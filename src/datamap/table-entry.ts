import { CatalogTable } from './catalog';
import { TableOverride } from './datamap.config';
import { Subject, TableEntry, TenantTable, sameTable } from './datamap.types';
import { Tenancy } from './tenancy';

/** The discovered entry for one table, before the config file has its say. */
export function tableEntry(
  table: CatalogTable,
  tenancy: Tenancy,
  tenantColumn: string,
  tenants: TenantTable,
  subject: Subject | null,
): TableEntry {
  const scope = scopeColumns(tenancy, tenantColumn, tenants);
  return {
    schema: table.schema,
    name: table.name,
    kind: tenancy.kind,
    primaryKey: table.primaryKey,
    columns: table.columns,
    foreignKeys: table.foreignKeys,
    joinPath: tenancy.joinPath,
    erasure: tenancy.kind === 'global' ? null : { action: 'delete' },
    subjectColumns: tenancy.kind === 'global' ? [] : subjectColumns(table, tenantColumn, subject),
    retention: null,
    rlsEnabled: table.rlsEnabled,
    rlsForced: table.rlsForced,
    hasTenantPolicy: table.hasTenantPolicy,
    hasTenantIndex: scope.length > 0 && table.indexes.some((index) => leadsWith(index.columns, scope)),
    replicaIdentity: table.replicaIdentity,
    replicaIdentityColumns: replicaIdentityColumns(table),
    estimatedRows: table.estimatedRows,
  };
}

export function applyOverride(entry: TableEntry, override: TableOverride | undefined): TableEntry {
  if (!override || entry.kind === 'global') return entry;
  return {
    ...entry,
    erasure:
      override.action === 'anonymize' ? { action: 'anonymize', columns: override.columns ?? {} }
      : override.action === 'delete' ? { action: 'delete' }
      : entry.erasure,
    subjectColumns: override.subjectColumns ?? entry.subjectColumns,
    retention: override.retention ?? entry.retention,
  };
}

/**
 * The columns a per-tenant scan filters on: the tenant column, the tenants
 * table's key, or, for a child, the FK columns of the first hop of its join path.
 */
export function scopeColumns(tenancy: Tenancy, tenantColumn: string, tenants: TenantTable): string[] {
  switch (tenancy.kind) {
    case 'tenant':
      return [tenantColumn];
    case 'tenants':
      return [tenants.keyColumn];
    case 'child':
      return tenancy.joinPath[0].columns.map((pair) => pair.from);
    case 'global':
      return [];
  }
}

/** True when the index's first columns are exactly `columns`, in any order. */
function leadsWith(indexColumns: Array<string | null>, columns: string[]): boolean {
  const prefix = indexColumns.slice(0, columns.length);
  return prefix.length === columns.length && columns.every((c) => prefix.includes(c));
}

/** The subject table's identity columns, or the columns of FKs pointing at them. */
function subjectColumns(table: CatalogTable, tenantColumn: string, subject: Subject | null): string[] {
  if (!subject) return [];
  if (sameTable(table, subject.table)) return subject.identityColumns;
  const columns = table.foreignKeys
    .filter((fk) => sameTable(fk.to, subject.table))
    .flatMap((fk) => fk.columns.filter((pair) => pair.from !== tenantColumn && subject.identityColumns.includes(pair.to)))
    .map((pair) => pair.from);
  return [...new Set(columns)];
}

/** What WAL carries of the old row on UPDATE and DELETE. */
function replicaIdentityColumns(table: CatalogTable): string[] {
  switch (table.replicaIdentity) {
    case 'default':
      return table.primaryKey;
    case 'index':
      return table.indexes.find((index) => index.replicaIdentity)?.columns.filter((c): c is string => c !== null) ?? [];
    case 'full':
      return table.columns.map((c) => c.name);
    case 'nothing':
      return [];
  }
}
