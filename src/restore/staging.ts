import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { runBounded } from '../export/run-bounded';
import { RestoreStepLog } from './restore-steps';
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
 * like the live one (columns, defaults, generated columns). No keys yet:
 * loadSnapshot builds each primary key once its rows are in (one index
 * build, rather than one insertion per row), so the load is still checked
 * against it before anything is replayed. No foreign keys: they are checked
 * once at the end, across the whole restored tenant. One round trip.
 */
export async function createStagingSchema(client: PoolClient, map: DataMap, schema: string): Promise<void> {
  await client.query([
    `DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`,
    `CREATE SCHEMA ${q(schema)}`,
    ...restoredTables(map).map((t) => `CREATE TABLE ${stagedTable(schema, t)} (LIKE ${q(t.schema)}.${q(t.name)} INCLUDING DEFAULTS INCLUDING GENERATED)`),
  ].join(';\n'));
}

export interface LoadDependencies {
  config: Config;
  s3: S3Client;
  kms: KMSClient;
  appPool: Pool;
}

/** Tables COPYed at once: the server parses and the client streams in parallel, within the pool's share of a restore. */
const PARALLEL_TABLES = 3;

/**
 * Loads a snapshot into the staging schema: the export is decrypted and
 * verified (signature, digests, counts) to a private temporary directory,
 * then each table file is COPYed in and its primary key built, a few tables
 * at a time. Returns rows per table.
 */
export async function loadSnapshot(
  deps: LoadDependencies, map: DataMap, snapshot: TenantSnapshot, schema: string, step: RestoreStepLog = () => undefined,
): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'restore-'));
  try {
    const started = performance.now();
    await decryptExport(`s3://${snapshot.bucket}/${snapshot.prefix}`, dir, deps, { tenantId: snapshot.tenantId, requestId: snapshotRequestId(snapshot.id) });
    step('load: snapshot decrypted and verified', {}, started);
    const tables = restoredTables(map);
    const counts = await runBounded(tables.map((t) => async () => {
      const client = await deps.appPool.connect();
      try {
        const rows = await copyTableFile(client, t, join(dir, tableFilePath(t, 'csv')), schema);
        if (t.primaryKey.length) await client.query(`ALTER TABLE ${stagedTable(schema, t)} ADD PRIMARY KEY (${t.primaryKey.map(q).join(', ')})`);
        return rows;
      } finally {
        client.release();
      }
    }), PARALLEL_TABLES);
    return Object.fromEntries(tables.map((t, i) => [t.name, counts[i]]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function copyTableFile(client: PoolClient, t: TableEntry, file: string, schema: string): Promise<number> {
  const header = await firstLine(file);
  const columns = header.split(',').map((c) => q(c.replace(/^"|"$/g, '')));
  const copy = client.query(copyFrom(`COPY ${stagedTable(schema, t)} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true)`));
  await pipeline(createReadStream(file), copy);
  return Number(copy.rowCount ?? 0);
}

/** The CSV header, without reading a whole table file into memory for it. */
async function firstLine(file: string): Promise<string> {
  let text = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    text += chunk;
    const end = text.indexOf('\n');
    if (end >= 0) return text.slice(0, end);
  }
  return text;
}

/**
 * Statistics on the staged tables' keys and tenant column (not their
 * values: a few milliseconds per table), so checks and the swap join staged
 * and live rows by hashing rather than probing the live index row by row.
 */
export async function analyzeStaging(client: PoolClient, map: DataMap, schema: string): Promise<void> {
  for (const t of restoredTables(map)) {
    const tenantColumn = t.kind === 'tenants' ? map.tenantTable.keyColumn : map.tenantColumn;
    const columns = [...new Set([tenantColumn, ...t.primaryKey])];
    await client.query(`ANALYZE ${stagedTable(schema, t)} (${columns.map(q).join(', ')})`);
  }
}
