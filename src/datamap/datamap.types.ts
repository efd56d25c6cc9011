/**
 * The data map: which tables hold tenant data, how to reach a tenant's rows
 * in each, and what erasure does to them.
 *
 * Glossary
 * - tenant column: the column naming a row's tenant (`tenant_id`, `org_id`…).
 * - tenants table: the table listing tenants; its key column holds tenant ids.
 * - tenant table: a table that has the tenant column.
 * - child table: a table without the tenant column whose rows belong to a
 *   tenant through a chain of foreign keys (its join path).
 * - global table: no tenant relation (lookups such as plans); never touched.
 * - subject: one data subject (a person) inside a tenant, e.g. a user row.
 * - lint: a finding about the schema that weakens isolation, erasure or PITR.
 */

export type TableKind = 'tenant' | 'child' | 'global' | 'tenants';
export type TenantKeyType = 'uuid' | 'bigint' | 'text';
export type ReplicaIdentity = 'default' | 'full' | 'index' | 'nothing';
export type LintSeverity = 'error' | 'warning' | 'info';

/**
 * How erasure overwrites one column of a row it must keep:
 * `null`; `hash`: keyed hash with a per-tenant salt (joins still line up);
 * `redact`: a fixed string; `fake-email`: a unique, undeliverable address.
 */
export const COLUMN_STRATEGIES = ['null', 'hash', 'redact', 'fake-email'] as const;
export type ColumnStrategy = (typeof COLUMN_STRATEGIES)[number];

export interface TableRef {
  schema: string;
  name: string;
}

export interface Column {
  name: string;
  /** as `format_type` prints it: `bigint`, `character(3)`, `timestamp with time zone` */
  type: string;
  nullable: boolean;
  /** storage other than PLAIN: large values may move out of line (TOAST) */
  toastable: boolean;
}

/** One foreign key; also one hop of a child table's join path. */
export interface ForeignKey {
  constraint: string;
  from: TableRef;
  to: TableRef;
  /** column pairs in constraint order: `from` column references `to` column */
  columns: Array<{ from: string; to: string }>;
}

export type Erasure =
  | { action: 'delete' }
  /** the row stays (a law requires it); the listed columns are overwritten */
  | { action: 'anonymize'; columns: Record<string, ColumnStrategy> };

export interface RetentionRule {
  ageColumn: string;
  maxAgeDays: number;
}

export interface TableEntry extends TableRef {
  kind: TableKind;
  /** empty when the table has no primary key */
  primaryKey: string[];
  columns: Column[];
  foreignKeys: ForeignKey[];
  /**
   * Child tables only: hops from this table up to a tenant table (filter on
   * the tenant column) or the tenants table (filter on its key column).
   * joinPath[0].from is this table; each hop's `to` is the next hop's `from`.
   */
  joinPath: ForeignKey[];
  /** null for global tables: erasure never touches them */
  erasure: Erasure | null;
  /** columns identifying a data subject: identity columns, or FKs to the subject table */
  subjectColumns: string[];
  retention: RetentionRule | null;
  rlsEnabled: boolean;
  rlsForced: boolean;
  /** some RLS policy on the table reads the tenant setting (`app.current_tenant_id`) */
  hasTenantPolicy: boolean;
  /** some valid, non-partial index has the tenant column first */
  hasTenantIndex: boolean;
  replicaIdentity: ReplicaIdentity;
  /** columns WAL carries for the old row of an UPDATE or DELETE */
  replicaIdentityColumns: string[];
  /** pg_class.reltuples; null when the table was never analyzed */
  estimatedRows: number | null;
}

export interface TenantTable extends TableRef {
  keyColumn: string;
  keyType: TenantKeyType;
}

export interface Subject {
  table: TableRef;
  identityColumns: string[];
}

export interface Lint {
  /** stable, kebab-case: safe to match on in CI */
  code: string;
  severity: LintSeverity;
  table: TableRef;
  /** what is wrong and what to do about it */
  message: string;
  /** the SQL that fixes it, when one statement list does */
  fix?: string;
}

export interface DataMap {
  tenantColumn: string;
  tenantTable: TenantTable;
  subject: Subject | null;
  tables: TableEntry[];
  /** tenant, child and tenants tables, children before the tables they reference */
  deleteOrder: TableRef[];
  lints: Lint[];
}

export function qualifiedName(table: TableRef): string {
  return `${table.schema}.${table.name}`;
}

export function sameTable(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.name === b.name;
}

/** A map key for a table that no schema or table name can make ambiguous. */
export function tableKey(table: TableRef): string {
  return JSON.stringify([table.schema, table.name]);
}

/** `public.order_lines.order_id → public.orders.id`, or with column lists for a composite key. */
export function describeHop(hop: ForeignKey, name: (table: TableRef) => string = qualifiedName): string {
  const side = (table: TableRef, columns: string[]) =>
    columns.length === 1 ? `${name(table)}.${columns[0]}` : `${name(table)} (${columns.join(', ')})`;
  return `${side(hop.from, hop.columns.map((p) => p.from))} → ${side(hop.to, hop.columns.map((p) => p.to))}`;
}

/** A `format_type` name that holds text: text, citext, varchar(n), char(n). */
export function isTextType(type: string): boolean {
  return type === 'text' || type === 'citext' || /^(character varying|character)\b/.test(type);
}
