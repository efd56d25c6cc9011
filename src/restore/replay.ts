import { PoolClient, escapeIdentifier as q } from 'pg';
import { DataMap, TableEntry } from '../datamap/datamap.types';
import { SchemaChangeError } from './assemble';
import { stagedTable } from './staging';
import { Change, Datum, Relation, Tuple, UNCHANGED } from './wal.types';

export class ReplayMismatchError extends Error {
  constructor(message: string) {
    super(`${message}: the archive and the snapshot disagree (a gap in the archive, or a change made outside it); the restore stops rather than guess`);
    this.name = 'ReplayMismatchError';
  }
}

interface Target {
  entry: TableEntry;
  relation: Relation;
  sql: string;
}

/**
 * Applies archived changes to the staging schema. Every UPDATE and DELETE
 * must hit exactly one row by primary key: a miss means the archive and the
 * snapshot disagree, which the restore must not paper over. UPDATE sets only
 * the columns WAL carried: an unchanged TOASTed value keeps its staged value.
 */
export class StagingApplier {
  private readonly entries = new Map<number, Target>();

  constructor(private readonly client: PoolClient, private readonly map: DataMap, private readonly schema: string) {}

  async apply(change: Change, relations: Map<number, Relation>): Promise<void> {
    if (change.op === 'truncate') {
      for (const rel of change.rels) await this.client.query(`DELETE FROM ${this.target(rel, relations).sql}`);
      return;
    }
    const t = this.target(change.rel, relations);
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

  private keyOf(t: Target, tuple: Tuple): Array<{ name: string; value: string }> {
    return t.entry.primaryKey.map((name) => {
      const value = tuple[t.relation.columns.findIndex((c) => c.name === name)];
      if (typeof value !== 'string') throw new ReplayMismatchError(`${t.entry.name}: the WAL lacks primary-key column ${name}`);
      return { name, value };
    });
  }

  private target(rel: number, relations: Map<number, Relation>): Target {
    const cached = this.entries.get(rel);
    const relation = relations.get(rel);
    if (!relation) throw new ReplayMismatchError(`a segment refers to relation ${rel} it does not describe`);
    if (cached && cached.relation === relation) return cached;
    const entry = this.map.tables.find((e) => e.schema === relation.schema && e.name === relation.name);
    if (!entry) throw new ReplayMismatchError(`${relation.schema}.${relation.name} is archived but not in the data map`);
    const live = entry.columns.map((c) => c.name);
    const archived = relation.columns.map((c) => c.name);
    if (archived.some((c) => !live.includes(c)) || entry.primaryKey.some((k) => !archived.includes(k))) {
      throw new SchemaChangeError(`${relation.schema}.${relation.name}`, archived, live);
    }
    const target = { entry, relation, sql: stagedTable(this.schema, entry) };
    this.entries.set(rel, target);
    return target;
  }
}

function plain(value: Datum): string | null {
  if (value === UNCHANGED) throw new ReplayMismatchError('an INSERT carried an unchanged-TOAST marker');
  return value;
}
