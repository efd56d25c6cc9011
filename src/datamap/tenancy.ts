import { CatalogTable } from './catalog';
import { ForeignKey, isTextType, TableKind, tableKey, TenantKeyType, TenantTable } from './datamap.types';
import { DatamapDiscoveryError } from './datamap.errors';

export interface Tenancy {
  kind: TableKind;
  /** child tables only: FK hops up to a tenant table or the tenants table */
  joinPath: ForeignKey[];
}

export function hasColumn(table: CatalogTable, column: string): boolean {
  return table.columns.some((c) => c.name === column);
}

/**
 * Finds the tenants table: the one named in config, else a table named
 * `tenants`, else the table most FKs on the tenant column alone reference.
 * Its key column is what those FKs reference, else its single-column primary key.
 */
export function resolveTenantsTable(
  catalog: CatalogTable[],
  tenantColumn: string,
  configured?: { table: CatalogTable; keyColumn?: string },
): TenantTable {
  const table = configured?.table ?? catalog.find((t) => t.name === 'tenants') ?? mostReferencedByTenantColumn(catalog, tenantColumn);
  if (!table) {
    throw new DatamapDiscoveryError(
      `Cannot tell which table lists the tenants: no table is named "tenants" and no foreign key on "${tenantColumn}" ` +
        'references one. Name it in the data map config: `tenantsTable: organizations`.',
    );
  }
  const keyColumn = configured?.keyColumn ?? inferKeyColumn(catalog, table, tenantColumn);
  const column = table.columns.find((c) => c.name === keyColumn);
  if (!column) {
    throw new DatamapDiscoveryError(
      `The tenants table ${table.schema}.${table.name} has no column "${keyColumn}". ` +
        'Name its key in the data map config: `tenantsTable: { name: …, keyColumn: … }`.',
    );
  }
  return { schema: table.schema, name: table.name, keyColumn, keyType: tenantKeyType(column.type, table) };
}

/**
 * The table that single-column FKs on the tenant column point at. Composite
 * FKs that merely include the tenant column point at other tenant tables.
 */
function mostReferencedByTenantColumn(catalog: CatalogTable[], tenantColumn: string): CatalogTable | undefined {
  const counts = new Map<string, number>();
  for (const fk of catalog.flatMap((t) => t.foreignKeys)) {
    if (fk.columns.length === 1 && fk.columns[0].from === tenantColumn) counts.set(tableKey(fk.to), (counts.get(tableKey(fk.to)) ?? 0) + 1);
  }
  const ranked = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => ({ table: catalog.find((t) => tableKey(t) === key), count }));
  if (ranked.length > 1 && ranked[0].count === ranked[1].count) {
    const [a, b] = ranked.map((r) => (r.table ? `${r.table.schema}.${r.table.name}` : 'a table outside the mapped schemas'));
    throw new DatamapDiscoveryError(
      `Foreign keys on "${tenantColumn}" reference ${a} and ${b} equally often; ` +
        'name the tenants table in the data map config: `tenantsTable: …`.',
    );
  }
  return ranked[0]?.table;
}

function inferKeyColumn(catalog: CatalogTable[], tenants: CatalogTable, tenantColumn: string): string {
  const referenced = catalog
    .flatMap((t) => t.foreignKeys)
    .filter((fk) => tableKey(fk.to) === tableKey(tenants))
    .filter((fk) => fk.columns.length === 1 && fk.columns[0].from === tenantColumn)
    .map((fk) => fk.columns[0].to);
  if (referenced.length > 0) return referenced[0];
  if (tenants.primaryKey.length === 1) return tenants.primaryKey[0];
  return hasColumn(tenants, tenantColumn) ? tenantColumn : 'id';
}

function tenantKeyType(type: string, table: CatalogTable): TenantKeyType {
  if (type === 'uuid') return 'uuid';
  if (['smallint', 'integer', 'bigint'].includes(type)) return 'bigint';
  if (isTextType(type)) return 'text';
  throw new DatamapDiscoveryError(
    `The tenants table ${table.schema}.${table.name} has a key of type ${type}; tenant ids must be uuid, an integer type or text.`,
  );
}

/**
 * Classifies every table. Children are found breadth-first from the tenant
 * tables and the tenants table along foreign keys pointing at them, so each
 * child gets its shortest join path; ties go to the first constraint by name.
 */
export function classifyTables(
  catalog: CatalogTable[],
  tenantColumn: string,
  tenants: TenantTable,
  forcedGlobal: ReadonlySet<string>,
): Map<string, Tenancy> {
  const byKey = new Map(catalog.map((t) => [tableKey(t), t]));
  const result = new Map<string, Tenancy>();
  const queue: CatalogTable[] = [];
  for (const table of catalog) {
    // `kind: global` cannot unmake a tenant table (config validation refuses it); it only stops child discovery.
    if (tableKey(table) === tableKey(tenants)) result.set(tableKey(table), { kind: 'tenants', joinPath: [] });
    else if (hasColumn(table, tenantColumn)) result.set(tableKey(table), { kind: 'tenant', joinPath: [] });
    else continue;
    queue.push(table);
  }

  const referencing = new Map<string, ForeignKey[]>();
  for (const fk of catalog.flatMap((t) => t.foreignKeys).sort((a, b) => a.constraint.localeCompare(b.constraint))) {
    referencing.set(tableKey(fk.to), [...(referencing.get(tableKey(fk.to)) ?? []), fk]);
  }
  for (let next = queue.shift(); next; next = queue.shift()) {
    const pathUp = result.get(tableKey(next))?.joinPath ?? [];
    for (const fk of referencing.get(tableKey(next)) ?? []) {
      const from = byKey.get(tableKey(fk.from));
      if (!from || result.has(tableKey(from)) || forcedGlobal.has(tableKey(from))) continue;
      result.set(tableKey(from), { kind: 'child', joinPath: [fk, ...pathUp] });
      queue.push(from);
    }
  }

  for (const table of catalog) {
    if (!result.has(tableKey(table))) result.set(tableKey(table), { kind: 'global', joinPath: [] });
  }
  return result;
}
