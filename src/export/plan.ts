import { badInput } from '../errors';
import { Column, DataMap, TableEntry, TableKind, TenantKeyType, sameTable } from '../datamap/datamap.types';
import { ExportFormat, ExportScope, subjectOf } from './export.types';
import { copyStatement, namesSubject, renderSelect, rowVersionsStatement, subjectPredicate, tenantScopedFrom } from './plan-sql';

/** One table's COPY: what runs, and the file it becomes. */
export interface TableCopy {
  table: { schema: string; name: string; kind: TableKind };
  /** `tables/<table>.csv` or `.jsonl`; schema-qualified outside `public` */
  path: string;
  columns: Column[];
  sql: string;
  /** the SELECT inside the COPY (the planner estimates its rows for progress) */
  select: string;
  /**
   * Counts the rows the COPY reads and those written in an xid window, so a
   * resumed export can prove the table unchanged since an earlier snapshot
   * (see rowVersionsStatement); null for a subject export, which restarts instead.
   */
  rowVersionsSql: string | null;
  /** for scheduling the biggest tables first; null when never analyzed */
  estimatedRows: number | null;
}

export interface PlanOptions {
  format: ExportFormat;
  /** table names (`name` or `schema.name`); all exportable tables when absent */
  tables?: string[];
}

const EXPORTED_KINDS: ReadonlySet<TableKind> = new Set(['tenant', 'child', 'tenants']);

/**
 * The COPY statements of an export. Tenant scope: every tenant table by its
 * tenant column, the tenant's own row of the tenants table, and every child
 * table through its join path; global tables never. Subject scope: the
 * subject's rows, rows whose subject columns point at them, and child rows
 * hanging below those (a child without subject columns of its own, reached
 * through a table that has them). Tables the subject does not reach are left
 * out. Pure: no database, so the SQL can be asserted as text.
 */
export function planExport(map: DataMap, scope: ExportScope, options: PlanOptions): TableCopy[] {
  checkTenantId(scope.tenantId, map.tenantTable.keyType);
  const subject = subjectOf(scope);
  if (subject) checkSubject(map, subject.column);
  const selected = options.tables ? resolveTables(map, options.tables) : map.tables.filter((t) => EXPORTED_KINDS.has(t.kind));

  const copies: TableCopy[] = [];
  for (const entry of selected) {
    const parts = tenantScopedFrom(map, entry, scope.tenantId);
    if (subject) {
      if (entry.kind === 'tenants') continue;
      const anchor = subjectAnchor(map, entry, parts.aliases);
      if (!anchor) continue;
      parts.where.push(subjectPredicate(map, anchor.entry, anchor.alias, scope.tenantId, subject));
    }
    const select = renderSelect(entry, parts);
    copies.push({
      table: { schema: entry.schema, name: entry.name, kind: entry.kind },
      path: tableFilePath(entry, options.format),
      columns: entry.columns,
      sql: copyStatement(select, options.format),
      select,
      // The subject predicate reads the subject table too, whose row versions this does not check.
      rowVersionsSql: subject ? null : rowVersionsStatement(parts),
      estimatedRows: entry.estimatedRows,
    });
  }
  return copies;
}

/** The table whose row decides subject membership: this one, or the first on its join path that names the subject. */
function subjectAnchor(map: DataMap, entry: TableEntry, aliases: string[]): { entry: TableEntry; alias: string } | null {
  if (namesSubject(map, entry)) return { entry, alias: 't' };
  if (entry.kind !== 'child') return null;
  for (const [i, hop] of entry.joinPath.entries()) {
    const parent = map.tables.find((t) => sameTable(t, hop.to));
    if (parent && namesSubject(map, parent)) return { entry: parent, alias: aliases[i + 1] };
  }
  return null;
}

export function tableFilePath(table: { schema: string; name: string }, format: ExportFormat): string {
  const name = table.schema === 'public' ? table.name : `${table.schema}.${table.name}`;
  // encodeURIComponent keeps the path one segment whatever the identifier holds.
  return `tables/${encodeURIComponent(name)}.${format}`;
}

function resolveTables(map: DataMap, names: string[]): TableEntry[] {
  const unknown: string[] = [];
  const found = new Set<TableEntry>();
  for (const name of names) {
    const matches = map.tables.filter((t) => t.name === name || `${t.schema}.${t.name}` === name);
    const entry = matches.length === 1 ? matches[0] : undefined;
    if (!entry || !EXPORTED_KINDS.has(entry.kind)) unknown.push(name);
    else found.add(entry);
  }
  if (unknown.length > 0) {
    throw badInput('unknown_table', `No tenant data table named ${unknown.map((n) => JSON.stringify(n)).join(', ')}. ` +
      'Name tables as `table` or `schema.table`; `compliance-ops datamap` lists them (global tables are never exported).', { tables: unknown });
  }
  // Keep the data map's order, whatever order the caller listed them in.
  return map.tables.filter((t) => found.has(t));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^-?[0-9]{1,19}$/;

function checkTenantId(tenantId: string, keyType: TenantKeyType): void {
  const ok = keyType === 'uuid' ? UUID.test(tenantId) : keyType === 'bigint' ? BIGINT.test(tenantId) : tenantId.length > 0 && tenantId.length <= 200;
  if (!ok) throw badInput('invalid_tenant_id', `Tenant ids are of type ${keyType}; the one given is not.`);
}

function checkSubject(map: DataMap, column: string): void {
  if (!map.subject) {
    throw badInput('no_subject_table', 'The data map has no subject table; name one in the data map config (`subject: {table, identityColumns}`).');
  }
  if (!map.subject.identityColumns.includes(column)) {
    throw badInput('unknown_subject_column', `Subjects are identified by ${map.subject.identityColumns.join(' or ')}, not "${column}".`, {
      identityColumns: map.subject.identityColumns,
    });
  }
}
