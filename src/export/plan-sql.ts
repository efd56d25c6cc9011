import { escapeIdentifier, escapeLiteral } from 'pg';
import { DataMap, ForeignKey, TableEntry, TableRef, sameTable, tableKey } from '../datamap/datamap.types';
import { ExportFormat, SubjectSelector } from './export.types';

/*
 * SQL text for COPY. COPY takes no bind parameters, so every value goes
 * through pg's escapeLiteral and every name through escapeIdentifier; nothing
 * is pasted. The exported table is always aliased `t`, the tables of its join
 * path `p1…pn`, and the subject table inside EXISTS `s`.
 */

const q = escapeIdentifier;

export function qualified(table: TableRef): string {
  return `${q(table.schema)}.${q(table.name)}`;
}

/** Wraps a SELECT in the COPY statement for the requested format. */
export function copyStatement(select: string, format: ExportFormat): string {
  if (format === 'csv') return `COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER)`;
  // One JSON object per line. CSV mode with quote and delimiter bytes that
  // JSON text never contains (it escapes control characters) emits the JSON
  // verbatim; text mode would double every backslash.
  return `COPY (SELECT row_to_json(r)::text FROM (${select}) AS r) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;
}

/**
 * For a resumed export: the rows the same SELECT reads, and how many of them
 * involve a row version (of the table or of any table on its join path)
 * whose xmin lies in the transaction id window [$1, $1 + $2), compared
 * modulo 2^32 as xmin is a 32-bit xid. A row version outside the window was
 * written by a transaction that had ended before the window opened.
 */
export function rowVersionsStatement(parts: SelectParts & { aliases: string[] }): string {
  const written = parts.aliases.map((a) => `(${a}.xmin::text::bigint - $1::bigint + 4294967296) % 4294967296 < $2::bigint`).join(' OR ');
  return [
    `SELECT count(*) AS rows, count(*) FILTER (WHERE ${written}) AS written FROM ${parts.from}`,
    ...parts.joins,
    `WHERE ${parts.where.join(' AND ')}`,
  ].join(' ');
}

export interface SelectParts {
  from: string;
  joins: string[];
  where: string[];
}

/** `SELECT t.a, t.b FROM … JOIN … WHERE … AND …` */
export function renderSelect(entry: TableEntry, parts: SelectParts): string {
  const columns = entry.columns.map((c) => `t.${q(c.name)}`).join(', ');
  return [`SELECT ${columns} FROM ${parts.from}`, ...parts.joins, `WHERE ${parts.where.join(' AND ')}`].join(' ');
}

/** The column the tenant filter applies to on a tenant table or the tenants table. */
export function tenantFilterColumn(map: DataMap, table: TableRef): string {
  return sameTable(table, map.tenantTable) ? map.tenantTable.keyColumn : map.tenantColumn;
}

/**
 * FROM and JOINs walking a child's join path up to the table holding the
 * tenant key, and the filter on that last table. Joins follow foreign keys to
 * referenced (unique) keys, so no row is duplicated.
 */
export function tenantScopedFrom(map: DataMap, entry: TableEntry, tenantId: string): SelectParts & { aliases: string[] } {
  const from = `${qualified(entry)} AS t`;
  if (entry.kind !== 'child') {
    return { from, joins: [], where: [`t.${q(tenantFilterColumn(map, entry))} = ${escapeLiteral(tenantId)}`], aliases: ['t'] };
  }
  const aliases = ['t'];
  const joins = entry.joinPath.map((hop, i) => {
    const child = aliases[i];
    const parent = `p${i + 1}`;
    aliases.push(parent);
    return `JOIN ${qualified(hop.to)} AS ${parent} ON ${joinCondition(hop, child, parent)}`;
  });
  const last = entry.joinPath[entry.joinPath.length - 1].to;
  const where = [`${aliases[aliases.length - 1]}.${q(tenantFilterColumn(map, last))} = ${escapeLiteral(tenantId)}`];
  return { from, joins, where, aliases };
}

function joinCondition(fk: ForeignKey, fromAlias: string, toAlias: string): string {
  return fk.columns.map((pair) => `${toAlias}.${q(pair.to)} = ${fromAlias}.${q(pair.from)}`).join(' AND ');
}

/**
 * True when rows of `entry` name the subject: it is the subject table, or it
 * has subject columns (foreign keys to the subject table, or identity values).
 */
export function namesSubject(map: DataMap, entry: TableEntry): boolean {
  return map.subject !== null && (sameTable(entry, map.subject.table) || entry.subjectColumns.length > 0);
}

/**
 * A predicate on `alias` (a row of `entry`) that holds when the row belongs to
 * the subject: the subject's own row by identity column, or a row whose
 * foreign key points at it. A subject column outside such a key holds the
 * identifier itself and is compared as text.
 */
export function subjectPredicate(map: DataMap, entry: TableEntry, alias: string, tenantId: string, subject: SubjectSelector): string {
  const subjectTable = map.subject!.table;
  const value = escapeLiteral(subject.value);
  if (sameTable(entry, subjectTable)) return `${alias}.${q(subject.column)} = ${value}`;

  const viaKeys = new Map<string, ForeignKey>();
  const direct: string[] = [];
  for (const column of entry.subjectColumns) {
    const fk = entry.foreignKeys.find((k) => sameTable(k.to, subjectTable) && k.columns.some((p) => p.from === column));
    if (fk) viaKeys.set(fk.constraint, fk);
    else direct.push(`${alias}.${q(column)}::text = ${value}`);
  }
  const subjectEntry = map.tables.find((t) => tableKey(t) === tableKey(subjectTable));
  const subjectTenant = subjectEntry && subjectEntry.kind !== 'child'
    ? ` AND s.${q(tenantFilterColumn(map, subjectTable))} = ${escapeLiteral(tenantId)}`
    : '';
  const exists = [...viaKeys.values()].map(
    (fk) => `EXISTS (SELECT 1 FROM ${qualified(subjectTable)} AS s WHERE ${joinCondition(fk, alias, 's')}${subjectTenant} AND s.${q(subject.column)} = ${value})`,
  );
  const alternatives = [...exists, ...direct];
  if (alternatives.length === 0) return 'false';
  return alternatives.length === 1 ? alternatives[0] : `(${alternatives.join(' OR ')})`;
}
