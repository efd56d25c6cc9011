import { escapeIdentifier } from 'pg';
import { ForeignKey, TableRef } from '../datamap/datamap.types';
import { ParamName, Statement } from './erasure.types';

export const q = escapeIdentifier;

export function qualified(table: TableRef): string {
  return `${q(table.schema)}.${q(table.name)}`;
}

/**
 * Casts make a parameter's type independent of where it appears (a name used
 * twice must not get two inferred types). The tenant id, the identity value
 * and the cutoff stay uncast: Postgres infers the type of the column they are
 * compared with (uuid, bigint or text tenant keys; a bigint id or a text
 * e-mail; date, timestamp or timestamptz ages) and can use its index.
 */
const CASTS: Partial<Record<ParamName, string>> = {
  subjectKeys: 'jsonb',
  subjectValue: 'text',
  batchRows: 'integer',
  hmacInner: 'bytea',
  hmacOuter: 'bytea',
};

/**
 * Builds one statement: hands out `$n` placeholders by name (the same name,
 * the same number) and fresh table aliases for nested subqueries. Values are
 * bound later, by name, so SQL text never holds a value.
 */
export class SqlBuilder {
  private readonly names: ParamName[] = [];
  private aliasCount = 0;

  param(name: ParamName): string {
    let index = this.names.indexOf(name);
    if (index < 0) index = this.names.push(name) - 1;
    const cast = CASTS[name];
    return cast ? `$${index + 1}::${cast}` : `$${index + 1}`;
  }

  /** `t1`, `t2`…: unique within the statement, so nested EXISTS never shadow an outer alias */
  alias(): string {
    this.aliasCount += 1;
    return `t${this.aliasCount}`;
  }

  statement(sql: string): Statement {
    return { sql, params: [...this.names] };
  }
}

/** `child.a = parent.x AND child.b = parent.y` for one foreign key. */
export function joinOn(fk: ForeignKey, childAlias: string, parentAlias: string): string {
  return fk.columns.map((pair) => `${childAlias}.${q(pair.from)} = ${parentAlias}.${q(pair.to)}`).join(' AND ');
}

/** `(a.x, a.y)` or `a.x` */
export function columnTuple(alias: string, columns: string[]): string {
  const list = columns.map((c) => `${alias}.${q(c)}`).join(', ');
  return columns.length === 1 ? list : `(${list})`;
}

// Parentheses only where precedence could bite (an OR at the top level of
// an AND's operand): the printed SQL stays readable, and extra ones are never
// needed for correctness.
export function and(parts: string[]): string {
  if (parts.length === 0) return 'true';
  return parts.length === 1 ? parts[0] : parts.map((p) => (topLevel(p, 'OR') ? `(${p})` : p)).join(' AND ');
}

export function or(parts: string[]): string {
  if (parts.length === 0) return 'false';
  return parts.length === 1 ? parts[0] : parts.map((p) => (topLevel(p, 'AND') || topLevel(p, 'OR') ? `(${p})` : p)).join(' OR ');
}

/** Whether ` word ` occurs outside parentheses, string literals and quoted identifiers. */
function topLevel(sql: string, word: 'AND' | 'OR'): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i += 1) {
    const ch = sql[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (depth === 0 && sql.startsWith(` ${word} `, i)) return true;
  }
  return false;
}
