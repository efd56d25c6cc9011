import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { PROJECT_ROOT } from '../config';

export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'sql', 'migrations');

/** Any constant: every instance of the service agrees on it, so one migrates at a time. */
const MIGRATION_LOCK = 727_384_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{6}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 6)),
        name: file.slice(7, -4),
        sql,
        sha256: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/**
 * Applies the pending migrations, each in its own transaction, under a session
 * advisory lock. Forward-only: a migration edited after it was applied is an
 * error, not something to paper over.
 */
export async function migrate(connectionString: string, dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const client = new Client({ connectionString, application_name: 'compliance-ops migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = new Map<number, string>(
      (await client.query<{ version: number; sha256: string }>('SELECT version, sha256 FROM schema_migrations')).rows
        .map((row) => [row.version, row.sha256]),
    );
    const pending: Migration[] = [];
    for (const migration of readMigrations(dir)) {
      const sha = applied.get(migration.version);
      if (sha === undefined) pending.push(migration);
      else if (sha !== migration.sha256) {
        throw new Error(`migration ${migration.version}_${migration.name} was changed after it was applied; ` +
          'migrations are forward-only: revert the edit and add a new migration instead');
      }
    }
    for (const migration of pending) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)',
          [migration.version, migration.name, migration.sha256]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`);
      }
    }
    return pending;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}
