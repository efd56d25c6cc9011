import { DataMap, Erasure, TableEntry, sameTable } from '../datamap/datamap.types';
import { badInput } from '../errors';
import { anonymizedTest, assignment, checkStrategies } from './anonymize';
import { PurgePlan, PurgeStep, PurgeTarget, Statement } from './erasure.types';
import { actionOf, keepingKeys, PredicateContext, referencedBy, scopePredicate, selfKeys, subjectMatch } from './predicates';
import { ResolvedScope, resolveScope } from './scope';
import { and, or, q, qualified, SqlBuilder } from './sql-builder';

/*
 * Batch statement shape. We delete by primary key through a LIMITed subquery:
 *
 *   DELETE FROM t WHERE (tenant_id, id) IN (SELECT … FROM t WHERE <scope> LIMIT $n)
 *
 * rather than by ctid with FOR UPDATE SKIP LOCKED. A primary key names one row
 * in a partitioned table too (a ctid does not), the statement reads like the
 * intent, and without SKIP LOCKED "no row affected" can only mean "nothing
 * left in scope": a batch that skipped locked rows would end the loop early.
 * Rows being erased are cold, so waiting on a lock is rare, and lock_timeout
 * bounds the wait (the batcher retries). Tables without a primary key fall
 * back to ctid, which is unique within a plain table.
 */

interface PlannedTable {
  entry: TableEntry;
  action: Erasure;
}

/** The steps of a purge, children before parents, and its census. Pure: no database. */
export function planPurge(map: DataMap, target: PurgeTarget): PurgePlan {
  const scope = resolveScope(map, target);
  const tables = plannedTables(map, scope);
  for (const { entry, action } of tables) if (action.action === 'anonymize') checkStrategies(entry, action.columns);
  const steps: PurgeStep[] = tables.map(({ entry, action }) => ({
    table: { schema: entry.schema, name: entry.name },
    action: action.action,
    batch: batchStatement(map, scope, entry, action),
  }));
  const census = censusStatement(map, scope, tables);
  const statements = [census, ...steps.map((s) => s.batch)];
  return {
    tenantId: target.tenantId,
    steps,
    census,
    needsHashKey: statements.some((s) => s.params.includes('hmacInner')),
    needsSubjectKeys: statements.some((s) => s.params.includes('subjectKeys')),
  };
}

function plannedTables(map: DataMap, scope: ResolvedScope): PlannedTable[] {
  const ordered = map.deleteOrder.map((ref) => map.tables.find((t) => sameTable(t, ref))).filter((t): t is TableEntry => t !== undefined);
  if (scope.kind === 'retention') {
    if (!ordered.some((t) => sameTable(t, scope.entry))) throw badInput('unknown_table', `${scope.entry.name} is not in the delete order.`);
    return [{ entry: scope.entry, action: scope.action }];
  }
  const ctx = { map, scope, b: new SqlBuilder() };
  return ordered
    .filter((entry) => scope.kind === 'tenant' || (entry.kind !== 'tenants' && subjectMatch(ctx, entry, 'x', new Set()) !== 'false'))
    .flatMap((entry) => {
      const action = actionOf(ctx, entry);
      return action ? [{ entry, action }] : [];
    });
}

/** Keys whose referencing rows stay (retained rows), plus self-references erasure must wait out. */
function blockingKeys(ctx: PredicateContext, entry: TableEntry) {
  const keeping = keepingKeys(ctx, entry);
  const waiting = ctx.scope.kind === 'retention' ? [] : selfKeys(entry).filter((k) => !keeping.includes(k));
  return { keeping, waiting };
}

function batchStatement(map: DataMap, scope: ResolvedScope, entry: TableEntry, action: Erasure): Statement {
  const b = new SqlBuilder();
  const ctx = { map, scope, b };
  const s = b.alias();
  const conditions = [scopePredicate(ctx, entry, s)];
  if (action.action === 'delete') {
    const { keeping, waiting } = blockingKeys(ctx, entry);
    conditions.push(...[...keeping, ...waiting].map((key) => `NOT ${referencedBy(ctx, entry, s, key)}`));
  } else {
    conditions.push(`NOT (${and(Object.entries(action.columns).map(([c, how]) => anonymizedTest(s, c, how)))})`);
  }
  const key = entry.primaryKey.length > 0 ? entry.primaryKey : null;
  const select = `SELECT ${key ? key.map((c) => `${s}.${q(c)}`).join(', ') : `${s}.ctid`} FROM ${qualified(entry)} AS ${s}\n  ` +
    `WHERE ${and(conditions)}\n  LIMIT ${b.param('batchRows')}`;
  const match = key ? `${targetColumns(key)} IN (\n  ${select})` : `ctid = ANY (ARRAY(\n  ${select}))`;
  const head = action.action === 'delete'
    ? `DELETE FROM ${qualified(entry)}`
    : `UPDATE ${qualified(entry)}\nSET ${Object.entries(action.columns).map(([c, how]) => assignment(b, c, how)).join(', ')}`;
  return b.statement(`${head}\nWHERE ${match}`);
}

/**
 * One statement, so one snapshot, counting every step's pending, retained and
 * kept rows: run before purging it gives the counts a receipt states; run after,
 * it verifies that no pending row is left.
 */
function censusStatement(map: DataMap, scope: ResolvedScope, tables: PlannedTable[]): Statement {
  const b = new SqlBuilder();
  const ctx = { map, scope, b };
  const count = (entry: TableEntry, condition: (alias: string) => string[]) => {
    const s = b.alias();
    return `(SELECT count(*) FROM ${qualified(entry)} AS ${s} WHERE ${and([scopePredicate(ctx, entry, s), ...condition(s)])})`;
  };
  const columns = tables.flatMap(({ entry, action }, i) => {
    if (action.action === 'anonymize') {
      const done = (s: string) => and(Object.entries(action.columns).map(([c, how]) => anonymizedTest(s, c, how)));
      return [`${count(entry, (s) => [`NOT (${done(s)})`])} AS pending_${i}`, `0 AS retained_${i}`, `${count(entry, (s) => [done(s)])} AS kept_${i}`];
    }
    const { keeping } = blockingKeys(ctx, entry);
    const retained = keeping.length === 0 ? '0' : count(entry, (s) => [or(keeping.map((key) => referencedBy(ctx, entry, s, key)))]);
    const pending = count(entry, (s) => keeping.map((key) => `NOT ${referencedBy(ctx, entry, s, key)}`));
    return [`${pending} AS pending_${i}`, `${retained} AS retained_${i}`, `0 AS kept_${i}`];
  });
  return b.statement(`SELECT\n  ${columns.join(',\n  ') || '1 AS nothing'}`);
}

/** The DELETE or UPDATE target's own key columns, unqualified: `"id"` or `("tenant_id", "id")`. */
function targetColumns(columns: string[]): string {
  return columns.length === 1 ? q(columns[0]) : `(${columns.map(q).join(', ')})`;
}
