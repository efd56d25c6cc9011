import { Change, Relation, Tuple, UNCHANGED } from './wal.types';

/**
 * Folding replay: a run of archived changes becomes, per table, one set of
 * deletes, updates and inserts by primary key, applied as a few set-based
 * statements instead of one statement per change.
 *
 * Why it is exact: the staging tables have no constraint but their primary
 * key (no foreign keys, no other unique index), so changes to different keys
 * commute and only each key's own sequence of changes matters. Per key, the
 * fold keeps what that sequence assumes of the staged row before the run
 * (the first change is an INSERT: no such row; an UPDATE or DELETE: exactly
 * one) and what the row is after it; every later change is checked against
 * the folded state as the row-at-a-time replay would check it against the
 * table. A change the fold cannot prove equivalent (TRUNCATE, an UPDATE that
 * changes the key, a key type whose text is not one-to-one with equality, a
 * relation in another shape) is refused: the caller applies what is folded,
 * then that change alone.
 */

export class ReplayMismatchError extends Error {
  constructor(message: string) {
    super(`${message}: the archive and the snapshot disagree (a gap in the archive, or a change made outside it); the restore stops rather than guess`);
    this.name = 'ReplayMismatchError';
  }
}

/**
 * int8, int2, int4, uuid: types whose text output is one-to-one with their
 * equality, so keys compared as WAL text match exactly the rows Postgres
 * would match (numeric or a nondeterministic collation would not: 1.0 = 1.00).
 */
const FOLDABLE_KEY_TYPES = new Set([20, 21, 23, 2950]);

/** One row's fate over a run of changes. */
interface RowFate {
  key: string[];
  /** what the run assumes before its first change: the staged row exists (UPDATE, DELETE first) or not (INSERT first) */
  existedBefore: boolean;
  /** the row that existed before is deleted (and maybe inserted again) rather than updated in place */
  replaced: boolean;
  /** the row after the run, null when absent; UNCHANGED keeps the staged value (only for a row updated in place) */
  image: Tuple | null;
}

interface TableRun {
  relation: Relation;
  keyIndexes: number[];
  rows: Map<string, RowFate>;
}

/** What a folded run does to one table. Keys are the primary-key values as WAL text, in primary-key order. */
export interface FoldedTable {
  relation: Relation;
  /** positions of the primary-key columns in `relation.columns` */
  keyIndexes: number[];
  /** keys inserted and deleted again within the run: no staged row may have them */
  mustBeAbsent: string[][];
  /** keys of staged rows that go (deleted, or deleted and inserted again): each must match one row */
  deletes: string[][];
  /** whole rows to insert (no UNCHANGED) */
  inserts: Tuple[];
  /** staged rows updated in place, grouped by the columns they set; each key must match one row */
  updates: Array<{ columns: number[]; rows: Tuple[] }>;
}

const shapeOf = (r: Relation) => r.columns.map((c) => `${c.name}:${c.typeOid}`).join(',');

export class ChangeFolder {
  private readonly tables = new Map<string, TableRun>();
  private folded = 0;

  /** Distinct rows the folder holds: the caller flushes past a bound to keep statements and memory in check. */
  get rows(): number {
    return this.folded;
  }

  /**
   * Folds one change of `relation`, whose primary key is `primaryKey`.
   * Returns false when this change cannot be folded; the folder is then
   * unchanged. Throws ReplayMismatchError where row-at-a-time replay would
   * find the row missing or already there.
   */
  fold(change: Change, relation: Relation, primaryKey: string[]): boolean {
    if (change.op === 'truncate') return false;
    const run = this.runFor(relation, primaryKey);
    if (!run) return false;
    const label = `${relation.schema}.${relation.name}`;
    if (change.op === 'insert') {
      const key = keyOf(run, change.new);
      if (!key) return false;
      if (change.new.some((d) => d === UNCHANGED)) throw new ReplayMismatchError(`an INSERT into ${label} carried an unchanged-TOAST marker`);
      const fate = this.fateOf(run, key);
      if (!fate) this.add(run, { key, existedBefore: false, replaced: false, image: [...change.new] });
      else if (fate.image !== null) throw new ReplayMismatchError(`insert of ${label} ${JSON.stringify(key)} found the row already there`);
      else fate.image = [...change.new];
      return true;
    }
    if (change.op === 'update') {
      const key = keyOf(run, change.new);
      const oldKey = change.old ? keyOf(run, change.old) : key;
      if (!key || !oldKey || oldKey.some((v, i) => v !== key[i])) return false;
      const fate = this.fateOf(run, key);
      if (!fate) this.add(run, { key, existedBefore: true, replaced: false, image: [...change.new] });
      else if (fate.image === null) throw new ReplayMismatchError(`update of ${label} ${JSON.stringify(key)} matched 0 rows`);
      else fate.image = fate.image.map((before, i) => (change.new[i] === UNCHANGED ? before : change.new[i]));
      return true;
    }
    const key = keyOf(run, change.old);
    if (!key) return false;
    const fate = this.fateOf(run, key);
    if (!fate) this.add(run, { key, existedBefore: true, replaced: true, image: null });
    else if (fate.image === null) throw new ReplayMismatchError(`delete of ${label} ${JSON.stringify(key)} matched 0 rows`);
    else {
      fate.image = null;
      fate.replaced = fate.existedBefore;
    }
    return true;
  }

  /** What the folded run does, table by table; empties the folder. */
  drain(): FoldedTable[] {
    const out: FoldedTable[] = [];
    for (const run of this.tables.values()) {
      const table: FoldedTable = { relation: run.relation, keyIndexes: run.keyIndexes, mustBeAbsent: [], deletes: [], inserts: [], updates: [] };
      const byColumns = new Map<string, { columns: number[]; rows: Tuple[] }>();
      for (const fate of run.rows.values()) {
        if (!fate.existedBefore) {
          if (fate.image === null) table.mustBeAbsent.push(fate.key);
          else table.inserts.push(fate.image);
          continue;
        }
        if (fate.replaced) table.deletes.push(fate.key);
        if (fate.image === null) continue;
        if (fate.replaced) {
          table.inserts.push(fate.image);
          continue;
        }
        const columns = fate.image.flatMap((d, i) => (d === UNCHANGED ? [] : [i]));
        const mask = columns.join(',');
        let group = byColumns.get(mask);
        if (!group) byColumns.set(mask, (group = { columns, rows: [] }));
        group.rows.push(fate.image);
      }
      table.updates = [...byColumns.values()];
      out.push(table);
    }
    this.tables.clear();
    this.folded = 0;
    return out;
  }

  private runFor(relation: Relation, primaryKey: string[]): TableRun | null {
    const name = `${relation.schema}.${relation.name}`;
    const existing = this.tables.get(name);
    if (existing) return shapeOf(existing.relation) === shapeOf(relation) ? existing : null;
    const keyIndexes = primaryKey.map((k) => relation.columns.findIndex((c) => c.name === k));
    if (keyIndexes.length === 0 || keyIndexes.some((i) => i < 0 || !FOLDABLE_KEY_TYPES.has(relation.columns[i].typeOid))) return null;
    return { relation, keyIndexes, rows: new Map() };
  }

  private fateOf(run: TableRun, key: string[]): RowFate | undefined {
    return run.rows.get(key.join('\u0000'));
  }

  /** Registers the run with its first row, so a refused change leaves the folder as it was. */
  private add(run: TableRun, fate: RowFate): void {
    this.tables.set(`${run.relation.schema}.${run.relation.name}`, run);
    run.rows.set(fate.key.join('\u0000'), fate);
    this.folded += 1;
  }
}

/** The key's values, or null when one is missing, NULL or unchanged (row-at-a-time replay reports that). */
function keyOf(run: TableRun, tuple: Tuple): string[] | null {
  const key: string[] = [];
  for (const i of run.keyIndexes) {
    const value = tuple[i];
    if (typeof value !== 'string') return null;
    key.push(value);
  }
  return key;
}
