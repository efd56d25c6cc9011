import { DataMap, Erasure, ForeignKey, TableEntry, sameTable, tableKey } from '../datamap/datamap.types';
import { ResolvedScope, subjectEntry } from './scope';
import { and, columnTuple, joinOn, or, q, qualified, SqlBuilder } from './sql-builder';

/*
 * WHERE-clause pieces of purge statements, for one row of `entry` under
 * `alias`. Every piece binds values through the builder; none pastes one.
 */

export interface PredicateContext {
  map: DataMap;
  scope: ResolvedScope;
  b: SqlBuilder;
}

/** What the target does to a table's rows: a retention target may override the data map's action. */
export function actionOf(ctx: Pick<PredicateContext, 'scope'>, entry: TableEntry): Erasure | null {
  if (ctx.scope.kind === 'retention') return sameTable(entry, ctx.scope.entry) ? ctx.scope.action : null;
  return entry.kind === 'global' ? null : entry.erasure;
}

/** The row belongs to the tenant: by its tenant column, or for a child table through its join path. */
export function tenantFence(ctx: PredicateContext, entry: TableEntry, alias: string): string {
  const { map, b } = ctx;
  if (entry.kind === 'tenants') return `${alias}.${q(map.tenantTable.keyColumn)} = ${b.param('tenantId')}`;
  if (entry.kind !== 'child') return `${alias}.${q(map.tenantColumn)} = ${b.param('tenantId')}`;
  const aliases = entry.joinPath.map(() => b.alias());
  const [first, ...rest] = entry.joinPath;
  const joins = rest.map((hop, i) => `JOIN ${qualified(hop.to)} AS ${aliases[i + 1]} ON ${joinOn(hop, aliases[i], aliases[i + 1])}`);
  const last = entry.joinPath[entry.joinPath.length - 1].to;
  const lastColumn = sameTable(last, map.tenantTable) ? map.tenantTable.keyColumn : map.tenantColumn;
  return [`EXISTS (SELECT 1 FROM ${qualified(first.to)} AS ${aliases[0]}`, ...joins,
    `WHERE ${joinOn(first, alias, aliases[0])} AND ${aliases[aliases.length - 1]}.${q(lastColumn)} = ${b.param('tenantId')})`].join(' ');
}

/** Tenant fence plus what the target narrows it to: the subject's rows, or rows older than the cutoff. */
export function scopePredicate(ctx: PredicateContext, entry: TableEntry, alias: string): string {
  const fence = tenantFence(ctx, entry, alias);
  if (ctx.scope.kind === 'tenant') return fence;
  if (ctx.scope.kind === 'retention') return and([fence, `${alias}.${q(ctx.scope.ageColumn)} < ${ctx.b.param('cutoff')}`]);
  return and([fence, subjectMatch(ctx, entry, alias, new Set())]);
}

/**
 * The row belongs to the subject: it is one of the subject's rows, its
 * subject columns name the subject, or — for rows erasure deletes — a foreign
 * key ties it to a row this erasure deletes (a project the subject owns takes
 * its documents along: the key would otherwise block the parent's delete).
 * Rows that are anonymized are matched only by their own subject columns.
 * `'false'` when nothing ties the table to the subject.
 */
export function subjectMatch(ctx: PredicateContext, entry: TableEntry, alias: string, visited: ReadonlySet<string>): string {
  const { map, b } = ctx;
  const subject = subjectEntry(map);
  if (sameTable(entry, subject)) return keysMatch(ctx, alias, subject.primaryKey, subject.primaryKey);
  const deletes = actionOf(ctx, entry)?.action === 'delete';
  const alternatives: string[] = [];
  const coveredByKeys = new Set<string>();
  for (const fk of entry.foreignKeys.filter((k) => sameTable(k.to, subject))) {
    if (!deletes && !fk.columns.some((p) => entry.subjectColumns.includes(p.from))) continue;
    alternatives.push(keysMatch(ctx, alias, fk.columns.map((p) => p.from), fk.columns.map((p) => p.to)));
    fk.columns.forEach((p) => coveredByKeys.add(p.from));
  }
  // A subject column outside any key to the subject table holds an identifier itself (a denormalized e-mail).
  for (const column of entry.subjectColumns.filter((c) => !coveredByKeys.has(c))) {
    alternatives.push(`${alias}.${q(column)}::text = ${b.param('subjectValue')}`);
  }
  if (deletes) {
    const seen = new Set([...visited, tableKey(entry)]);
    for (const fk of entry.foreignKeys) {
      const parent = map.tables.find((t) => sameTable(t, fk.to));
      if (!parent || sameTable(parent, subject) || seen.has(tableKey(parent)) || parent.kind === 'tenants') continue;
      if (actionOf(ctx, parent)?.action !== 'delete') continue;
      const parentAlias = b.alias();
      const inner = subjectMatch(ctx, parent, parentAlias, seen);
      if (inner !== 'false') {
        alternatives.push(`EXISTS (SELECT 1 FROM ${qualified(parent)} AS ${parentAlias} WHERE ${and([joinOn(fk, alias, parentAlias), inner])})`);
      }
    }
  }
  return or(alternatives);
}

/** `alias.columns` equal the subject-key columns `keyColumns` of one of the resolved subject rows. */
function keysMatch(ctx: PredicateContext, alias: string, columns: string[], keyColumns: string[]): string {
  const k = ctx.b.alias();
  const subject = subjectEntry(ctx.map);
  return `${columnTuple(alias, columns)} IN (SELECT ${keyColumns.map((c) => `${k}.${q(c)}`).join(', ')} ` +
    `FROM jsonb_populate_recordset(NULL::${qualified(subject)}, ${ctx.b.param('subjectKeys')}) AS ${k})`;
}

/** Every column the subject keys must carry: the primary key and any column a foreign key references. */
export function subjectKeyColumns(map: DataMap): string[] {
  const subject = subjectEntry(map);
  const referenced = map.tables.flatMap((t) => t.foreignKeys.filter((k) => sameTable(k.to, subject)).flatMap((k) => k.columns.map((p) => p.to)));
  return [...new Set([...subject.primaryKey, ...referenced])];
}

/**
 * Foreign keys whose referencing rows stay, so the rows they reference must
 * stay too. Erasure: keys from tables it anonymizes, unless the anonymization
 * nulls one of the key's columns (a key with a null column references
 * nothing). Retention: every key into the table, its own included — a row
 * still referenced is not expired.
 */
export function keepingKeys(ctx: Pick<PredicateContext, 'map' | 'scope'>, entry: TableEntry): ForeignKey[] {
  const into = ctx.map.tables.flatMap((t) => t.foreignKeys.filter((k) => sameTable(k.to, entry)).map((fk) => ({ t, fk })));
  if (ctx.scope.kind === 'retention') return into.map(({ fk }) => fk);
  return into
    .filter(({ t, fk }) => {
      const action = actionOf(ctx, t);
      return action?.action === 'anonymize' && !fk.columns.some((p) => action.columns[p.from] === 'null');
    })
    .map(({ fk }) => fk);
}

/** Some row references this one through `key` (a self-reference from the row itself does not count). */
export function referencedBy(ctx: PredicateContext, entry: TableEntry, alias: string, key: ForeignKey): string {
  const r = ctx.b.alias();
  const self = sameTable(key.from, entry) && entry.primaryKey.length > 0
    ? ` AND ${columnTuple(r, entry.primaryKey)} IS DISTINCT FROM ${columnTuple(alias, entry.primaryKey)}`
    : '';
  return `EXISTS (SELECT 1 FROM ${qualified(key.from)} AS ${r} WHERE ${joinOn(key, r, alias)}${self})`;
}

/** Self-references of a table erasure deletes: a parent row waits until its children are gone. */
export function selfKeys(entry: TableEntry): ForeignKey[] {
  return entry.foreignKeys.filter((k) => sameTable(k.to, entry));
}
