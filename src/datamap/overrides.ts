import { CatalogTable } from './catalog';
import { TableOverride } from './datamap.config';
import { ColumnStrategy, isTextType, TableKind } from './datamap.types';

/** A problem found while checking a config file against the database, before it is located in the file. */
export interface OverrideProblem {
  path: PropertyKey[];
  message: string;
}

/** Finds the table a config key names: `name` (in any mapped schema) or `schema.name`. */
export function resolveTableName(catalog: CatalogTable[], name: string): CatalogTable | string {
  const dot = name.indexOf('.');
  const matches = catalog.filter((t) =>
    dot < 0 ? t.name === name : t.schema === name.slice(0, dot) && t.name === name.slice(dot + 1),
  );
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    return `table "${name}" exists in several schemas (${matches.map((t) => t.schema).join(', ')}); write it as schema.${name}`;
  }
  const schemas = [...new Set(catalog.map((t) => t.schema))].join(', ');
  return `unknown table "${name}" in schema ${schemas}${didYouMean(name, catalog.map((t) => t.name))}`;
}

export function unknownColumn(table: CatalogTable, column: string): string | undefined {
  if (table.columns.some((c) => c.name === column)) return undefined;
  return `unknown column "${column}" in ${table.schema}.${table.name}${didYouMean(column, table.columns.map((c) => c.name))}`;
}

/** Problems with one `tables.<name>` entry, given what discovery found for the table. */
export function checkTableOverride(
  table: CatalogTable,
  kind: TableKind,
  override: TableOverride,
  tenantColumn: string,
): OverrideProblem[] {
  const problems: OverrideProblem[] = [];
  const add = (path: PropertyKey[], message: string) => problems.push({ path, message });

  if (override.kind === 'global' && (kind === 'tenant' || kind === 'tenants')) {
    add(['kind'], `the table has the tenant column "${tenantColumn}" or lists the tenants; a global table must hold no tenant data`);
  } else if (override.kind && override.kind !== 'global' && override.kind !== kind) {
    add(['kind'], `discovery found a ${kind} table, not a ${override.kind} table; remove "kind" or fix the schema`);
  }
  const isGlobal = kind === 'global' || override.kind === 'global';
  if (isGlobal && (override.action || override.retention || override.subjectColumns)) {
    add([], 'a global table is never exported, erased or purged; remove action, columns, subjectColumns and retention');
    return problems;
  }

  for (const [column, strategy] of Object.entries(override.columns ?? {})) {
    const problem = unknownColumn(table, column) ?? strategyProblem(table, column, strategy, tenantColumn);
    if (problem) add(['columns', column], problem);
  }
  override.subjectColumns?.forEach((column, i) => {
    const problem = unknownColumn(table, column);
    if (problem) add(['subjectColumns', i], problem);
  });
  if (override.retention) {
    const column = override.retention.ageColumn;
    const problem = unknownColumn(table, column) ?? ageColumnProblem(table, column);
    if (problem) add(['retention', 'ageColumn'], problem);
  }
  return problems;
}

function strategyProblem(table: CatalogTable, column: string, strategy: ColumnStrategy, tenantColumn: string): string | undefined {
  const { type, nullable } = table.columns.find((c) => c.name === column)!;
  if (column === tenantColumn || table.primaryKey.includes(column)) {
    return `"${column}" is part of the tenant scope or primary key; anonymizing it would orphan the row. Pick other columns`;
  }
  if (strategy === 'null' && !nullable) {
    return `"${column}" is NOT NULL, so strategy null would fail; use redact or hash, or drop the NOT NULL`;
  }
  if (strategy !== 'null' && !isTextType(type)) {
    return `strategy ${strategy} writes text but "${column}" is ${type}; use null`;
  }
  return undefined;
}

function ageColumnProblem(table: CatalogTable, column: string): string | undefined {
  const { type } = table.columns.find((c) => c.name === column)!;
  return /^(date|timestamp)/.test(type) ? undefined : `retention.ageColumn "${column}" is ${type}; it must be a date or timestamp`;
}

function didYouMean(name: string, candidates: string[]): string {
  const scored = candidates.map((c) => ({ c, d: editDistance(name, c) })).sort((a, b) => a.d - b.d);
  const best = scored[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean "${best.c}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
