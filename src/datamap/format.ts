import { DataMap, describeHop, Lint, LintSeverity, qualifiedName, TableEntry, TableRef } from './datamap.types';

const SEVERITIES: LintSeverity[] = ['error', 'warning', 'info'];

/**
 * The data map for a terminal: one header line, an aligned table of tables,
 * the details that do not fit a column (join paths, anonymized columns,
 * retention, delete order), then the lints grouped by severity.
 */
export function formatDataMap(map: DataMap): string {
  const multiSchema = new Set(map.tables.map((t) => t.schema)).size > 1;
  const name = (t: TableRef) => (multiSchema ? qualifiedName(t) : t.name);
  const { tenantTable: tenants, subject } = map;
  const lines = [
    `tenant column ${map.tenantColumn} (${tenants.keyType}) · tenants table ${name(tenants)}.${tenants.keyColumn} · ` +
      `subject ${subject ? `${name(subject.table)} (${subject.identityColumns.join(', ')})` : 'none'}`,
    '',
    ...alignColumns([
      ['TABLE', 'KIND', 'PK', 'ACTION', 'SUBJECT COLUMNS', 'ROWS', 'RLS', 'INDEX'],
      ...map.tables.map((t) => tableRow(t, name)),
    ]),
    ...section('join paths', map.tables.filter((t) => t.kind === 'child').map((t) => t.joinPath.map((hop) => describeHop(hop, name)).join(', then '))),
    ...section('anonymized', map.tables.flatMap((t) =>
      t.erasure?.action === 'anonymize'
        ? [`${name(t)}: ${Object.entries(t.erasure.columns).map(([c, s]) => `${c}=${s}`).join(', ')}`]
        : [])),
    ...section('retention', map.tables.flatMap((t) =>
      t.retention ? [`${name(t)}: ${t.retention.ageColumn} older than ${t.retention.maxAgeDays} days`] : [])),
    '',
    `delete order: ${map.deleteOrder.map(name).join(' → ')}`,
    '',
    lintSummary(map.lints),
    ...SEVERITIES.flatMap((severity) => lintGroup(severity, map.lints.filter((l) => l.severity === severity), name)),
  ];
  return lines.join('\n') + '\n';
}

function tableRow(t: TableEntry, name: (t: TableRef) => string): string[] {
  const scoped = t.kind !== 'global';
  const action = t.erasure === null ? '-' : t.erasure.action;
  const rls = !scoped ? '-' : !t.rlsEnabled ? 'off' : t.hasTenantPolicy ? 'on' : 'no policy';
  return [
    name(t),
    t.kind,
    t.primaryKey.join(', ') || '(none)',
    action,
    t.subjectColumns.join(', ') || '-',
    t.estimatedRows === null ? '?' : String(t.estimatedRows),
    rls,
    !scoped ? '-' : t.hasTenantIndex ? 'yes' : 'no',
  ];
}


function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}

function section(title: string, lines: string[]): string[] {
  return lines.length === 0 ? [] : ['', `${title}:`, ...lines.map((line) => `  ${line}`)];
}

function lintSummary(lints: Lint[]): string {
  if (lints.length === 0) return 'no lints';
  const counts = SEVERITIES.map((s) => [s, lints.filter((l) => l.severity === s).length] as const).filter(([, n]) => n > 0);
  return `lints: ${counts.map(([s, n]) => `${n} ${s}${n === 1 ? '' : 's'}`).join(', ')}`;
}

function lintGroup(severity: LintSeverity, lints: Lint[], name: (t: TableRef) => string): string[] {
  if (lints.length === 0) return [];
  return [
    '',
    `${severity}s:`,
    ...lints.flatMap((l) => {
      const [first, ...rest] = l.message.split('\n');
      return [`  ${l.code}  ${name(l.table)}: ${first}`, ...rest.map((line) => `      ${line}`)];
    }),
  ];
}
