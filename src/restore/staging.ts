import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool, PoolClient, escapeIdentifier as q } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Config } from '../config';
import { DataMap, TableEntry } from '../datamap/datamap.types';
import { decryptExport } from '../export/decrypt';
import { tableFilePath } from '../export/plan';
import { snapshotRequestId, TenantSnapshot } from './tenant-snapshot';

/** Tables a restore brings back: those with the tenant column, and the tenant's own row. */
export function restoredTables(map: DataMap): TableEntry[] {
  return map.tables.filter((t) => t.kind === 'tenant' || t.kind === 'tenants');
}

/** Child tables (no tenant column) cannot be attributed in the WAL: refuse rather than restore part of a tenant. */
export function assertPitrCapable(map: DataMap): void {
  const children = map.tables.filter((t) => t.kind === 'child').map((t) => `${t.schema}.${t.name}`);
  if (children.length) throw new Error(`tables without the tenant column are not PITR-capable: ${children.join(', ')}`);
}

export function stagingSchemaName(restoreId: string): string {
  return `restore_${restoreId.replace(/[^a-z0-9]/gi, '').slice(0, 24).toLowerCase()}`;
}

export const stagedTable = (schema: string, table: { name: string }) => `${q(schema)}.${q(table.name)}`;

/**
 * Creates the staging schema with one empty table per restored table, shaped
 * like the live one (columns, defaults, generated columns, primary key), so
 * load and replay are checked against the primary key as they go. No foreign
 * keys: they are checked once at the end, across the whole restored tenant.
 */
export async function createStagingSchema(client: PoolClient, map: DataMap, schema: string): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
  await client.query(`CREATE SCHEMA ${q(schema)}`);
  for (const t of restoredTables(map)) {
    await client.query(`CREATE TABLE ${stagedTable(schema, t)} (LIKE ${q(t.schema)}.${q(t.name)} INCLUDING DEFAULTS INCLUDING GENERATED)`);
    if (t.primaryKey.length) await client.query(`ALTER TABLE ${stagedTable(schema, t)} ADD PRIMARY KEY (${t.primaryKey.map(q).join(', ')})`);
  }
}

export interface LoadDependencies {
  config: Config;
  s3: S3Client;
  kms: KMSClient;
  appPool: Pool;
}

/**
 * Loads a snapshot into the staging schema: the export is decrypted and
 * verified (signature, digests, counts) to a private temporary directory,
 * then each table file is COPYed in. Returns rows per table.
 */
export async function loadSnapshot(deps: LoadDependencies, map: DataMap, snapshot: TenantSnapshot, schema: string): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'restore-'));
  try {
    await decryptExport(`s3://${snapshot.bucket}/${snapshot.prefix}`, dir, deps, { tenantId: snapshot.tenantId, requestId: snapshotRequestId(snapshot.id) });
    const rows: Record<string, number> = {};
    const client = await deps.appPool.connect();
    try {
      for (const t of restoredTables(map)) {
        const file = join(dir, tableFilePath(t, 'csv'));
        const header = (await readFile(file, 'utf8')).split('\n', 1)[0];
        const columns = header.split(',').map((c) => q(c.replace(/^"|"$/g, '')));
        const copy = client.query(copyFrom(`COPY ${stagedTable(schema, t)} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true)`));
        await pipeline(createReadStream(file), copy);
        rows[t.name] = Number(copy.rowCount ?? 0);
      }
    } finally {
      client.release();
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
