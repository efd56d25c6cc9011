import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool, PoolClient, escapeIdentifier as q } from 'pg';
import { Config } from '../config';
import { withTransaction } from '../db/pool';
import { DataMap, TableEntry } from '../datamap/datamap.types';
import { openExportSource } from '../export/export-source';
import { ExportVerificationError, readVerifiedManifest } from '../export/read-manifest';
import { tableFilePath } from '../export/plan';
import { runBounded } from '../export/run-bounded';
import { kmsKeyring } from '../kms/keyring';
import { RestoreStepLog } from './restore-steps';
import { copyVerifiedCsv } from './snapshot-stream';
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

/** Tables streamed in at once: downloads, decryption and COPY of one overlap those of the others. */
const PARALLEL_TABLES = 3;

/** What a snapshot load staged: rows per table, and per table the columns the snapshot has that the live table has dropped since. */
export interface LoadedSnapshot {
  rows: Record<string, number>;
  droppedColumns: Record<string, string[]>;
}

/**
 * Loads a snapshot into the staging schema: the manifest is verified
 * (signature, digest, encryption context), then each table file is streamed
 * from S3 through its checks into COPY (snapshot-stream.ts), in a transaction
 * per table that also builds its primary key and commits only once the
 * file checked out, a few tables at a time. A column the live table has
 * dropped since the snapshot is staged too, as text (its values as the
 * snapshot wrote them), so a restore to before a DROP COLUMN brings the
 * column's data back for inspection; an in-place swap writes only the live
 * columns.
 */
export async function loadSnapshot(
  deps: LoadDependencies, map: DataMap, snapshot: TenantSnapshot, schema: string, step: RestoreStepLog = () => undefined,
): Promise<LoadedSnapshot> {
  const started = performance.now();
  const source = openExportSource(`s3://${snapshot.bucket}/${snapshot.prefix}`, deps.s3);
  const { manifest, context } = await readVerifiedManifest(source, deps, { tenantId: snapshot.tenantId, requestId: snapshotRequestId(snapshot.id) });
  if (manifest.dataFormat !== 'csv') throw new ExportVerificationError('manifest.json', `snapshot ${snapshot.id} is ${manifest.dataFormat}, a restore loads csv`);
  step('load: manifest verified', {}, started);
  const keyring = kmsKeyring(deps.config, deps.config.KMS_EXPORT_KEY_ARN);
  const tables = restoredTables(map).map((t) => {
    const file = manifest.files.find((f) => f.path === tableFilePath(t, 'csv'));
    if (!file) throw new ExportVerificationError('manifest.json', `snapshot ${snapshot.id} has no file for ${t.schema}.${t.name}`);
    return { t, file };
  });
  // Largest first, so the small tables fill in beside the last big one rather than wait behind it.
  const bySize = [...tables].sort((a, b) => b.file.bytes - a.file.bytes);
  const droppedColumns: Record<string, string[]> = {};
  const counts = await runBounded(bySize.map(({ t, file }) => () => withTransaction(deps.appPool, async (client) => {
    const rows = await copyVerifiedCsv(client, source, keyring, context, file, stagedTable(schema, t), async (columns) => {
      const dropped = columns.filter((c) => !t.columns.some((live) => live.name === c));
      for (const column of dropped) await client.query(`ALTER TABLE ${stagedTable(schema, t)} ADD COLUMN ${q(column)} text`);
      if (dropped.length) droppedColumns[t.name] = dropped;
    });
    if (t.primaryKey.length) await client.query(`ALTER TABLE ${stagedTable(schema, t)} ADD PRIMARY KEY (${t.primaryKey.map(q).join(', ')})`);
    return rows;
  })), PARALLEL_TABLES);
  return { rows: Object.fromEntries(bySize.map(({ t }, i) => [t.name, counts[i]])), droppedColumns };
}
