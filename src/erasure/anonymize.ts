import { createHash } from 'node:crypto';
import { ColumnStrategy, TableEntry, isTextType } from '../datamap/datamap.types';
import { badInput } from '../errors';
import { q, SqlBuilder } from './sql-builder';

/*
 * Column strategies of an anonymize step, as SQL. Each output is
 * recognisable, so "already anonymized" is a predicate and a batch never
 * rewrites a row twice: re-running a step after a crash touches only the rows
 * still holding personal values.
 *
 * The keyed hash is HMAC-SHA-256 with the tenant's hash key, computed with
 * the core sha256() function (PostgreSQL 11+), not pgcrypto's hmac(): the
 * service role cannot install extensions on the application's database. The
 * key never appears in SQL text: Node derives HMAC's inner and outer padded
 * keys (RFC 2104) and binds them as parameters, and Postgres computes
 * sha256(outer ‖ sha256(inner ‖ value)), which is exactly HMAC(key, value).
 */

export const REDACTED = '[redacted]';
const HASH_PREFIX = 'hmac:';
const FAKE_EMAIL_DOMAIN = 'erased.invalid';

function hmacHex(b: SqlBuilder, column: string): string {
  return `encode(sha256(${b.param('hmacOuter')} || sha256(${b.param('hmacInner')} || convert_to(${q(column)}::text, 'UTF8'))), 'hex')`;
}

/** `col = <new value>` for an UPDATE's SET list (unqualified: the target row's own columns). */
export function assignment(b: SqlBuilder, column: string, strategy: ColumnStrategy): string {
  switch (strategy) {
    case 'null':
      return `${q(column)} = NULL`;
    case 'redact':
      return `${q(column)} = '${REDACTED}'`;
    case 'hash':
      return `${q(column)} = '${HASH_PREFIX}' || ${hmacHex(b, column)}`;
    case 'fake-email':
      // Unique per original address (so unique constraints hold) and undeliverable (.invalid, RFC 2606).
      return `${q(column)} = 'erased-' || ${hmacHex(b, column)} || '@${FAKE_EMAIL_DOMAIN}'`;
  }
}

/** True when the column already holds what the strategy writes (never null: safe under NOT). */
export function anonymizedTest(alias: string, column: string, strategy: ColumnStrategy): string {
  const c = `${alias}.${q(column)}`;
  switch (strategy) {
    case 'null':
      return `${c} IS NULL`;
    case 'redact':
      return `${c} IS NOT DISTINCT FROM '${REDACTED}'`;
    case 'hash':
      return `(${c} IS NULL OR ${c} ~ '^${HASH_PREFIX}[0-9a-f]{64}$')`;
    case 'fake-email':
      return `(${c} IS NULL OR ${c} ~ '^erased-[0-9a-f]{64}@erased\\.invalid$')`;
  }
}

/** Refuses strategies the column cannot hold, before any row is touched. */
export function checkStrategies(entry: TableEntry, columns: Record<string, ColumnStrategy>): void {
  const problems: string[] = [];
  for (const [name, strategy] of Object.entries(columns)) {
    const column = entry.columns.find((c) => c.name === name);
    if (!column) problems.push(`${name}: no such column`);
    else if (strategy === 'null' && !column.nullable) problems.push(`${name}: NOT NULL, cannot be nulled (use redact)`);
    else if (strategy !== 'null' && !isTextType(column.type)) problems.push(`${name}: ${column.type} cannot hold a ${strategy} value (use null)`);
    else if (entry.primaryKey.includes(name)) problems.push(`${name}: part of the primary key`);
  }
  if (problems.length > 0) {
    throw badInput('invalid_anonymize_strategy', `Anonymizing ${entry.schema}.${entry.name} would fail: ${problems.join('; ')}. Fix the data map config.`,
      { table: `${entry.schema}.${entry.name}`, problems });
  }
}

const HMAC_BLOCK_BYTES = 64;

/** HMAC-SHA-256's padded keys for `key` (RFC 2104): bind as hmacInner / hmacOuter. */
export function hmacPads(key: Buffer): { hmacInner: Buffer; hmacOuter: Buffer } {
  const block = Buffer.alloc(HMAC_BLOCK_BYTES);
  (key.length > HMAC_BLOCK_BYTES ? createHash('sha256').update(key).digest() : key).copy(block);
  return {
    hmacInner: Buffer.from(block.map((byte) => byte ^ 0x36)),
    hmacOuter: Buffer.from(block.map((byte) => byte ^ 0x5c)),
  };
}
