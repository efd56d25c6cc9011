import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientBase, escapeIdentifier } from 'pg';
import { PROJECT_ROOT } from '../config';
import { DEMO_TABLES } from './tenant-plan';

export const DEMO_SCHEMA_FILE = join(PROJECT_ROOT, 'sql', 'demo', 'schema.sql');

/** The demo tables, the global `plans` last because tenants reference it. */
const ALL_TABLES = [...DEMO_TABLES, 'plans'];

export async function missingDemoTables(client: ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ table: string }>(
    `SELECT t AS table FROM unnest($1::text[]) AS t WHERE to_regclass(quote_ident(t)) IS NULL`,
    [ALL_TABLES],
  );
  return rows.map((row) => row.table);
}

/**
 * Makes the demo schema present and empty: drops it first on `reset`,
 * applies schema.sql when any table is missing, and refuses to load on top
 * of existing tenants (ids would clash halfway through a long load).
 */
export async function prepareDemoSchema(client: ClientBase, reset: boolean): Promise<void> {
  if (reset) {
    const tables = ALL_TABLES.map(escapeIdentifier).join(', ');
    await client.query(`DROP TABLE IF EXISTS ${tables} CASCADE`);
  }
  if ((await missingDemoTables(client)).length > 0) {
    await client.query(readFileSync(DEMO_SCHEMA_FILE, 'utf8'));
  }
  const { rows } = await client.query<{ seeded: boolean }>('SELECT EXISTS (SELECT FROM tenants) AS seeded');
  if (rows[0].seeded) {
    throw new Error('The demo tables already hold tenants. Seed with --reset to drop and recreate them.');
  }
}

export interface ForeignKey {
  table: string;
  name: string;
  definition: string;
}

/**
 * Drops the foreign keys between demo tables for the duration of a bulk load,
 * as pg_restore does: COPY then checks no row one by one (a lookup and a row
 * lock on the parent per row), tables load in parallel in any order, and
 * adding the keys back checks every row in one join each.
 */
export async function dropForeignKeys(client: ClientBase): Promise<ForeignKey[]> {
  const { rows } = await client.query<ForeignKey>(
    `SELECT r.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
      WHERE c.contype = 'f' AND c.conrelid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) AS t)
      ORDER BY r.relname, c.conname`,
    [DEMO_TABLES],
  );
  for (const fk of rows) {
    await client.query(`ALTER TABLE ${escapeIdentifier(fk.table)} DROP CONSTRAINT ${escapeIdentifier(fk.name)}`);
  }
  return rows;
}

/** Puts back what dropForeignKeys took away; fails if any loaded row breaks a key. */
export async function restoreForeignKeys(client: ClientBase, keys: ForeignKey[]): Promise<void> {
  for (const fk of keys) {
    // The definition is the server's own rendering of the constraint (pg_get_constraintdef).
    await client.query(`ALTER TABLE ${escapeIdentifier(fk.table)} ADD CONSTRAINT ${escapeIdentifier(fk.name)} ${fk.definition}`);
  }
}

export interface SecondaryIndex {
  name: string;
  definition: string;
}

/**
 * Drops the plain (non-unique, non-key) indexes of the demo tables for a bulk
 * load: building an index once from sorted data is cheaper than inserting
 * every row into it, as pg_restore also knows. Keys and unique constraints stay.
 */
export async function dropSecondaryIndexes(client: ClientBase): Promise<SecondaryIndex[]> {
  const { rows } = await client.query<SecondaryIndex>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE NOT i.indisunique AND NOT i.indisprimary
        AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        AND i.indrelid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) AS t)
      ORDER BY c.relname`,
    [DEMO_TABLES],
  );
  for (const index of rows) await client.query(`DROP INDEX ${escapeIdentifier(index.name)}`);
  return rows;
}

export async function restoreSecondaryIndexes(client: ClientBase, indexes: SecondaryIndex[]): Promise<void> {
  // The definition is the server's own CREATE INDEX statement (pg_get_indexdef).
  for (const index of indexes) await client.query(index.definition);
}

/** Moves each identity sequence past the ids the load supplied, so the application can insert. */
export async function advanceIdentitySequences(client: ClientBase): Promise<void> {
  for (const table of DEMO_TABLES.filter((t) => t !== 'tenants')) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM ${escapeIdentifier(table)}`,
      [table],
    );
  }
}
