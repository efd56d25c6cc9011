import { DatabaseError, PoolClient, escapeIdentifier as q } from 'pg';
import { DataMap, TableEntry } from '../datamap/datamap.types';
import { SchemaChangeError } from './assemble';
import { ReplayTransaction } from './archive-reader';
import { ChangeFolder, FoldedTable, ReplayMismatchError } from './replay-fold';
import { FoldedSql, plain } from './replay-sql';
import { stagedTable } from './staging';
import { Change, Relation, Tuple, UNCHANGED } from './wal.types';

export { ReplayMismatchError } from './replay-fold';

export interface StagedTarget {
  entry: TableEntry;
  relation: Relation;
  sql: string;
}

/** Rows folded before they are written: bounds memory and statement size on a long replay. */
const MAX_FOLDED_ROWS = 50_000;
/** Rows per set-based statement (one text[] parameter per column). */
const ROWS_PER_STATEMENT = 5_000;

/**
 * Replays the transactions, in commit order, into the staging schema, on a
 * client inside a transaction. Changes are folded per primary key and
 * written as a few set-based statements per table (replay-fold.ts says why
 * that is exact); a change that cannot be folded is applied on its own
 * after everything folded before it. Returns the changes replayed.
 */
export async function replayChanges(
  client: PoolClient, map: DataMap, schema: string, replay: ReplayTransaction[], droppedColumns: Record<string, string[]> = {},
): Promise<number> {
  const applier = new StagingApplier(client, map, schema, droppedColumns);
  const folder = new ChangeFolder();
  let changes = 0;
  for (const r of replay) {
    for (const change of r.tx.changes) {
      changes += 1;
      if (change.op !== 'truncate') {
        const target = applier.resolve(change.rel, r.relations);
        if (folder.fold(change, target.relation, target.entry.primaryKey)) {
          if (folder.rows >= MAX_FOLDED_ROWS) await applier.applyFolded(folder.drain());
          continue;
        }
      }
      await applier.applyFolded(folder.drain());
      await applier.apply(change, r.relations);
    }
  }
  await applier.applyFolded(folder.drain());
  return changes;
}

/**
 * Applies archived changes to the staging schema. Every UPDATE and DELETE
 * must hit exactly one row by primary key: a miss means the archive and the
 * snapshot disagree, which the restore must not paper over. UPDATE sets only
 * the columns WAL carried: an unchanged TOASTed value keeps its staged value.
 */
export class StagingApplier {
  private readonly entries = new Map<number, StagedTarget>();
  private readonly byName = new Map<string, StagedTarget>();

  /**
   * `droppedColumns`: per table, columns the snapshot has and the live table
   * has dropped since, staged as text (staging.ts): changes before the drop
   * carry them, and replay writes them there too.
   */
  constructor(
    private readonly client: PoolClient, private readonly map: DataMap, private readonly schema: string,
    private readonly droppedColumns: Record<string, string[]> = {},
  ) {}

  /** One change, row at a time. */
  async apply(change: Change, relations: Map<number, Relation>): Promise<void> {
    if (change.op === 'truncate') {
      for (const rel of change.rels) await this.client.query(`DELETE FROM ${this.resolve(rel, relations).sql}`);
      return;
    }
    const t = this.resolve(change.rel, relations);
    const cols = t.relation.columns;
    if (change.op === 'insert') {
      const names = cols.map((c) => q(c.name));
      await this.client.query(`INSERT INTO ${t.sql} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, change.new.map(plain));
      return;
    }
    const key = this.keyOf(t, change.op === 'update' ? change.old ?? change.new : change.old);
    const where = key.map((k, i) => `${q(k.name)} = $${i + 1}`).join(' AND ');
    let result;
    if (change.op === 'delete') {
      result = await this.client.query(`DELETE FROM ${t.sql} WHERE ${where}`, key.map((k) => k.value));
    } else {
      const set = cols.map((c, i) => ({ name: c.name, value: change.new[i] })).filter((c) => c.value !== UNCHANGED);
      const sets = set.map((c, i) => `${q(c.name)} = $${key.length + i + 1}`);
      result = await this.client.query(`UPDATE ${t.sql} SET ${sets.join(', ')} WHERE ${where}`, [...key.map((k) => k.value), ...set.map((c) => plain(c.value))]);
    }
    if (result.rowCount !== 1) throw new ReplayMismatchError(`${change.op} of ${t.entry.name} ${JSON.stringify(key.map((k) => k.value))} matched ${result.rowCount} rows`);
  }

  /**
   * A folded run, set-based: per table, the keys that must be absent are
   * checked, then deletes, updates (one statement per set of columns) and
   * inserts, each of up to ROWS_PER_STATEMENT rows, every count checked as
   * row-at-a-time replay checks each row.
   */
  async applyFolded(tables: FoldedTable[]): Promise<void> {
    for (const folded of tables) {
      const t = this.byName.get(`${folded.relation.schema}.${folded.relation.name}`);
      if (!t) throw new Error(`folded changes of ${folded.relation.schema}.${folded.relation.name} were never resolved`);
      const sql = new FoldedSql(t.entry, t.sql, folded);
      for (const keys of chunks(folded.mustBeAbsent)) {
        const found = await this.count(sql.countKeys(keys));
        if (found !== 0) throw new ReplayMismatchError(`insert of ${t.entry.name}: ${found} of ${keys.length} rows inserted (and deleted again) were already there`);
      }
      for (const keys of chunks(folded.deletes)) {
        const { rowCount } = await this.client.query(sql.deleteKeys(keys));
        if (rowCount !== keys.length) throw new ReplayMismatchError(`delete of ${t.entry.name}: ${keys.length} rows matched ${rowCount}`);
      }
      for (const group of folded.updates) {
        for (const rows of chunks(group.rows)) {
          const { statement, counts } = sql.update(group.columns, rows);
          const matched = counts ? await this.count(statement) : (await this.client.query(statement)).rowCount;
          if (matched !== rows.length) throw new ReplayMismatchError(`update of ${t.entry.name}: ${rows.length} rows matched ${matched}`);
        }
      }
      for (const rows of chunks(folded.inserts)) {
        await this.client.query(sql.insert(rows)).catch((error: unknown) => {
          if (error instanceof DatabaseError && error.code === '23505') throw new ReplayMismatchError(`insert of ${t.entry.name} found a row already there (${error.detail ?? error.message})`);
          throw error;
        });
      }
    }
  }

  /** The staged table a relation of the archive replays into, checked against the live shape. */
  resolve(rel: number, relations: Map<number, Relation>): StagedTarget {
    const cached = this.entries.get(rel);
    const relation = relations.get(rel);
    if (!relation) throw new ReplayMismatchError(`a segment refers to relation ${rel} it does not describe`);
    if (cached && cached.relation === relation) return cached;
    const mapped = this.map.tables.find((e) => e.schema === relation.schema && e.name === relation.name);
    if (!mapped) throw new ReplayMismatchError(`${relation.schema}.${relation.name} is archived but not in the data map`);
    const dropped = this.droppedColumns[mapped.name] ?? [];
    const entry = dropped.length === 0 ? mapped
      : { ...mapped, columns: [...mapped.columns, ...dropped.map((name) => ({ name, type: 'text', nullable: true, toastable: true }))] };
    const live = entry.columns.map((c) => c.name);
    const archived = relation.columns.map((c) => c.name);
    if (archived.some((c) => !live.includes(c)) || entry.primaryKey.some((k) => !archived.includes(k))) {
      throw new SchemaChangeError(`${relation.schema}.${relation.name}`, archived, live);
    }
    const target = { entry, relation, sql: stagedTable(this.schema, entry) };
    this.entries.set(rel, target);
    this.byName.set(`${relation.schema}.${relation.name}`, target);
    return target;
  }

  private async count(statement: { text: string; values: unknown[] }): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(statement);
    return rows[0].n;
  }

  private keyOf(t: StagedTarget, tuple: Tuple): Array<{ name: string; value: string }> {
    return t.entry.primaryKey.map((name) => {
      const value = tuple[t.relation.columns.findIndex((c) => c.name === name)];
      if (typeof value !== 'string') throw new ReplayMismatchError(`${t.entry.name}: the WAL lacks primary-key column ${name}`);
      return { name, value };
    });
  }
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}
