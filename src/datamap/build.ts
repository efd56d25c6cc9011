import { CatalogTable } from './catalog';
import { DatamapConfigFile, TableOverride } from './datamap.config';
import { ConfigProblem, DatamapConfigError, DatamapDiscoveryError, formatPath } from './datamap.errors';
import { DataMap, Subject, tableKey } from './datamap.types';
import { computeDeleteOrder } from './delete-order';
import { lintDataMap } from './lints';
import { checkTableOverride, OverrideProblem, resolveTableName, unknownColumn } from './overrides';
import { applyOverride, tableEntry } from './table-entry';
import { classifyTables, hasColumn, resolveTenantsTable, Tenancy } from './tenancy';

export interface BuildOptions {
  /** the tenant column when the config file names none */
  tenantColumn: string;
  config?: DatamapConfigFile;
}

/**
 * Turns catalog facts plus the override file into the data map: pure, so the
 * whole inference is testable without a database. Throws DatamapConfigError
 * listing every problem of the file, or DatamapDiscoveryError when the schema
 * cannot be mapped at all.
 */
export function buildDataMap(catalog: CatalogTable[], options: BuildOptions): DataMap {
  const overrides = options.config?.overrides ?? {};
  const tenantColumn = overrides.tenantColumn ?? options.tenantColumn;
  if (!catalog.some((t) => hasColumn(t, tenantColumn))) {
    throw new DatamapDiscoveryError(
      `No table has the tenant column "${tenantColumn}". Set TENANT_COLUMN, pass --tenant-column, ` +
        'or set tenantColumn in the data map config (e.g. org_id).',
    );
  }
  const refs = resolveReferences(catalog, options.config);
  const tenants = resolveTenantsTable(
    catalog,
    tenantColumn,
    refs.tenantsTable && { table: refs.tenantsTable, keyColumn: refs.tenantsKeyColumn },
  );
  const forcedGlobal = new Set([...refs.tables].filter(([, o]) => o.override.kind === 'global').map(([key]) => key));
  const tenancy = classifyTables(catalog, tenantColumn, tenants, forcedGlobal);

  const problems: OverrideProblem[] = [];
  for (const [key, { table, name, override }] of refs.tables) {
    for (const p of checkTableOverride(table, tenancy.get(key)!.kind, override, tenantColumn)) {
      problems.push({ path: ['tables', name, ...p.path], message: p.message });
    }
  }
  const subject = resolveSubject(catalog, tenancy, tenantColumn, refs.subjectTable, overrides.subject, problems);
  throwIfAny(options.config, problems);

  const tables = catalog.map((table) => {
    const entry = tableEntry(table, tenancy.get(tableKey(table))!, tenantColumn, tenants, subject);
    return applyOverride(entry, refs.tables.get(tableKey(table))?.override);
  });
  const scoped = tables.filter((t) => t.kind !== 'global');
  const { order } = computeDeleteOrder(scoped);
  const map: DataMap = { tenantColumn, tenantTable: tenants, subject, tables, deleteOrder: order, lints: [] };
  return { ...map, lints: lintDataMap(map) };
}

interface ResolvedReferences {
  tenantsTable?: CatalogTable;
  tenantsKeyColumn?: string;
  subjectTable?: CatalogTable;
  /** by table key: the table, the name the file used for it, and its override */
  tables: Map<string, { table: CatalogTable; name: string; override: TableOverride }>;
}

/** Resolves every table the file names; an unknown name stops the build here. */
function resolveReferences(catalog: CatalogTable[], config?: DatamapConfigFile): ResolvedReferences {
  const overrides = config?.overrides ?? {};
  const problems: OverrideProblem[] = [];
  const resolved: ResolvedReferences = { tables: new Map() };
  const tenantsTable = overrides.tenantsTable;
  if (tenantsTable !== undefined) {
    const name = typeof tenantsTable === 'string' ? tenantsTable : tenantsTable.name;
    const table = resolveTableName(catalog, name);
    const path = typeof tenantsTable === 'string' ? ['tenantsTable'] : ['tenantsTable', 'name'];
    if (typeof table === 'string') problems.push({ path, message: table });
    else resolved.tenantsTable = table;
    if (typeof tenantsTable !== 'string' && tenantsTable.keyColumn && typeof table !== 'string') {
      const problem = unknownColumn(table, tenantsTable.keyColumn);
      if (problem) problems.push({ path: ['tenantsTable', 'keyColumn'], message: problem });
      resolved.tenantsKeyColumn = tenantsTable.keyColumn;
    }
  }
  if (overrides.subject) {
    const table = resolveTableName(catalog, overrides.subject.table);
    if (typeof table === 'string') problems.push({ path: ['subject', 'table'], message: table });
    else resolved.subjectTable = table;
  }
  for (const [name, override] of Object.entries(overrides.tables ?? {})) {
    const table = resolveTableName(catalog, name);
    if (typeof table === 'string') problems.push({ path: ['tables', name], message: table });
    else if (resolved.tables.has(tableKey(table))) problems.push({ path: ['tables', name], message: 'this table is listed twice' });
    else resolved.tables.set(tableKey(table), { table, name, override });
  }
  throwIfAny(config, problems);
  return resolved;
}

/** The subject table from config, else a tenant table named `users`, identified by its key and email. */
function resolveSubject(
  catalog: CatalogTable[],
  tenancy: Map<string, Tenancy>,
  tenantColumn: string,
  table: CatalogTable | undefined,
  configured: { identityColumns: string[] } | undefined,
  problems: OverrideProblem[],
): Subject | null {
  if (table && configured) {
    configured.identityColumns.forEach((column, i) => {
      const problem = unknownColumn(table, column);
      if (problem) problems.push({ path: ['subject', 'identityColumns', i], message: problem });
    });
    return { table: { schema: table.schema, name: table.name }, identityColumns: configured.identityColumns };
  }
  const users = catalog.find((t) => t.name === 'users' && tenancy.get(tableKey(t))?.kind === 'tenant');
  if (!users) return null;
  const identityColumns = users.primaryKey.filter((c) => c !== tenantColumn);
  if (hasColumn(users, 'email')) identityColumns.push('email');
  return { table: { schema: users.schema, name: users.name }, identityColumns };
}

function throwIfAny(config: DatamapConfigFile | undefined, problems: OverrideProblem[]): void {
  if (problems.length === 0) return;
  const located: ConfigProblem[] = problems.map(({ path, message }) => ({
    path: formatPath(path),
    line: config?.lineOf(path),
    message,
  }));
  throw new DatamapConfigError(config?.file ?? 'data map config', located);
}
