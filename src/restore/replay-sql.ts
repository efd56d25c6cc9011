import { escapeIdentifier as q } from 'pg';
import { TableEntry } from '../datamap/datamap.types';
import { SchemaChangeError } from './assemble';
import { FoldedTable, ReplayMismatchError } from './replay-fold';
import { Datum, Tuple, UNCHANGED } from './wal.types';

/**
 * The statements of one folded table. Values travel as one text[] parameter
 * per column, unnested and cast to the live column's type (format_type), so
 * every value goes through its type's input function exactly as the text
 * WAL carried it.
 */
export class FoldedSql {
  private readonly keyNames: string[];
  private readonly keyTypes: string[];

  constructor(private readonly entry: TableEntry, private readonly sql: string, private readonly folded: FoldedTable) {
    this.keyNames = folded.keyIndexes.map((i) => folded.relation.columns[i].name);
    this.keyTypes = this.keyNames.map((name) => this.typeOf(name));
  }

  countKeys(keys: string[][]) {
    return { text: `SELECT count(*)::int AS n FROM ${this.sql} t JOIN ${unnest(this.keyTypes.length)} ON ${this.keyMatch()}`, values: columnsOf(keys, this.keyTypes.length) };
  }

  deleteKeys(keys: string[][]) {
    return { text: `DELETE FROM ${this.sql} t USING ${unnest(this.keyTypes.length)} WHERE ${this.keyMatch()}`, values: columnsOf(keys, this.keyTypes.length) };
  }

  /** UPDATE of the non-key columns set; rows that set only their key are an existence check (`counts`: a SELECT count). */
  update(columns: number[], rows: Tuple[]) {
    const set = columns.filter((i) => !this.folded.keyIndexes.includes(i));
    const keys = rows.map((r) => this.folded.keyIndexes.map((i) => r[i] as string));
    if (set.length === 0) return { statement: this.countKeys(keys), counts: true };
    const names = set.map((i) => this.folded.relation.columns[i].name);
    const n = this.keyTypes.length;
    const assignments = names.map((name, j) => `${q(name)} = k.c${n + j}::${this.typeOf(name)}`);
    const values = [...columnsOf(keys, n), ...set.map((i) => rows.map((r) => plain(r[i])))];
    return { statement: { text: `UPDATE ${this.sql} t SET ${assignments.join(', ')} FROM ${unnest(n + set.length)} WHERE ${this.keyMatch()}`, values }, counts: false };
  }

  insert(rows: Tuple[]) {
    const names = this.folded.relation.columns.map((c) => c.name);
    const casts = names.map((name, i) => `k.c${i}::${this.typeOf(name)}`);
    const values = names.map((_, i) => rows.map((r) => plain(r[i])));
    return { text: `INSERT INTO ${this.sql} (${names.map(q).join(', ')}) SELECT ${casts.join(', ')} FROM ${unnest(names.length)}`, values };
  }

  private keyMatch(): string {
    return this.keyNames.map((name, i) => `t.${q(name)} = k.c${i}::${this.keyTypes[i]}`).join(' AND ');
  }

  private typeOf(name: string): string {
    const column = this.entry.columns.find((c) => c.name === name);
    if (!column) throw new SchemaChangeError(`${this.entry.schema}.${this.entry.name}`, this.folded.relation.columns.map((c) => c.name), this.entry.columns.map((c) => c.name));
    return column.type;
  }
}

const unnest = (columns: number) =>
  `unnest(${Array.from({ length: columns }, (_, i) => `$${i + 1}::text[]`).join(', ')}) AS k(${Array.from({ length: columns }, (_, i) => `c${i}`).join(', ')})`;

/** Rows of keys → one array per key column. */
function columnsOf(keys: string[][], width: number): string[][] {
  return Array.from({ length: width }, (_, i) => keys.map((k) => k[i]));
}

/** A value as a statement parameter; an unchanged-TOAST marker can only be in an UPDATE, which leaves its column out. */
export function plain(value: Datum): string | null {
  if (value === UNCHANGED) throw new ReplayMismatchError('an INSERT carried an unchanged-TOAST marker');
  return value;
}
