import { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { sqlQuery } from '../db/sql-files';
import { Column, ForeignKey, ReplicaIdentity, TableRef, tableKey } from './datamap.types';

/** What the catalog says about one table, before any tenancy is inferred. */
export interface CatalogTable extends TableRef {
  columns: Column[];
  primaryKey: string[];
  foreignKeys: ForeignKey[];
  /** key columns of each valid, non-partial index; null for an expression */
  indexes: Array<{ name: string; columns: Array<string | null>; unique: boolean; replicaIdentity: boolean }>;
  rlsEnabled: boolean;
  rlsForced: boolean;
  hasTenantPolicy: boolean;
  replicaIdentity: ReplicaIdentity;
  estimatedRows: number | null;
}

export interface CatalogReadOptions {
  schemas: string[];
  /** the setting the application's RLS policies read */
  tenantSetting: string;
}

const query = (file: string) => sqlQuery('datamap', file);

const REPLICA_IDENTITY: Record<string, ReplicaIdentity> = { d: 'default', f: 'full', i: 'index', n: 'nothing' };

/**
 * Reads the catalog in one read-only REPEATABLE READ transaction, so the four
 * queries agree even if a migration runs meanwhile. Works for a role that owns
 * none of the tables: it reads pg_catalog only.
 */
export async function readCatalog(pool: Pool, options: CatalogReadOptions): Promise<CatalogTable[]> {
  return withTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return readInTransaction(client, options);
  });
}

async function readInTransaction(client: PoolClient, { schemas, tenantSetting }: CatalogReadOptions): Promise<CatalogTable[]> {
  const tables = await client.query(query('tables.sql'), [schemas, tenantSetting]);
  const columns = await client.query(query('columns.sql'), [schemas]);
  const constraints = await client.query(query('constraints.sql'), [schemas]);
  const indexes = await client.query(query('indexes.sql'), [schemas]);

  const byKey = new Map<string, CatalogTable>();
  for (const row of tables.rows) {
    byKey.set(tableKey(row), {
      schema: row.schema,
      name: row.name,
      columns: [],
      primaryKey: [],
      foreignKeys: [],
      indexes: [],
      rlsEnabled: row.rls_enabled,
      rlsForced: row.rls_forced,
      hasTenantPolicy: row.has_tenant_policy,
      replicaIdentity: REPLICA_IDENTITY[row.replica_identity] ?? 'default',
      // reltuples is -1 until the first ANALYZE or VACUUM
      estimatedRows: row.estimated_rows < 0 ? null : Math.round(row.estimated_rows),
    });
  }
  const tableOf = (row: { schema: string; table: string }) => byKey.get(tableKey({ schema: row.schema, name: row.table }));

  for (const row of columns.rows) {
    tableOf(row)?.columns.push({ name: row.name, type: row.type, nullable: row.nullable, toastable: row.toastable });
  }
  for (const row of constraints.rows) {
    const table = tableOf(row);
    if (!table) continue;
    if (row.type === 'p') {
      table.primaryKey = row.columns;
    } else {
      table.foreignKeys.push({
        constraint: row.constraint,
        from: { schema: table.schema, name: table.name },
        to: { schema: row.ref_schema, name: row.ref_table },
        columns: (row.columns as string[]).map((from, i) => ({ from, to: row.ref_columns[i] as string })),
      });
    }
  }
  for (const row of indexes.rows) {
    tableOf(row)?.indexes.push({
      name: row.index,
      columns: row.columns,
      unique: row.is_unique,
      replicaIdentity: row.is_replica_identity,
    });
  }
  return [...byKey.values()];
}
