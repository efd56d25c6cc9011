import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { kmsKeyring } from '../kms/keyring';
import { copyTableToChunks, CopyEnvironment } from './copy-table';
import { CursorStore, startCursor, statementSha256 } from './cursor-store';
import { exportEncryptionContext } from './encrypt';
import { estimateRows, ExportProgressTracker } from './export-progress';
import { openExportSource } from './export-source';
import { ExportCursor, ExportFormat, ExportProgress, ExportResult, ExportScope, subjectOf } from './export.types';
import { FinalizeEnvironment, summarizeExport, writeManifest, writeSchemaFile } from './finalize';
import { exportPrefix, MANIFEST_KEY } from './layout';
import { planExport, TableCopy } from './plan';
import { readVerifiedManifest } from './read-manifest';
import { adoptSnapshot } from './resume';
import { buildSchemaFile } from './schema-file';
import { runBounded } from './run-bounded';
import { ExportSnapshot, openExportSnapshot } from './snapshot';

export interface ExportDependencies {
  config: Config;
  /** the application database, as the service role (RLS applies) */
  appPool: Pool;
  s3: S3Client;
  kms: KMSClient;
}

export interface ExportRequest {
  requestId: string;
  scope: ExportScope;
  format: ExportFormat;
  tables?: string[];
  /** where the objects go instead of the export layout's `tenants/<t>/exports/<request>/` (tenant snapshots have their own folder) */
  prefix?: string;
}

export interface ExportOptions {
  /** tables copied at once, each on its own connection (default 3) */
  parallelTables?: number;
  /** plaintext bytes per chunk object (default 128 MiB) */
  chunkBytes?: number;
  /** gzip level, 1 (fast, default) to 9 */
  compressionLevel?: number;
  signal?: AbortSignal;
  onProgress?(progress: ExportProgress): void;
  /** the cursor of a previous attempt's last heartbeat (the durable copy in S3 wins when there is one) */
  resume?: ExportCursor;
  /** called whenever a table's last chunk is durable: persist this to resume */
  onCursor?(cursor: ExportCursor): void;
}

export const DEFAULT_CHUNK_BYTES = 128 * 1024 * 1024;

/**
 * Exports one tenant's or one subject's data to encrypted objects in S3 and
 * returns where they are. Every file is the tenant's data at one instant,
 * retries included: a retry resumes at table granularity, keeping the tables
 * an earlier attempt finished only if they are proven unchanged at its own
 * snapshot, else starting over (see adoptSnapshot). If the export is already
 * complete (its manifest exists) the existing result is returned.
 */
export async function runExport(deps: ExportDependencies, map: DataMap, request: ExportRequest, options: ExportOptions = {}): Promise<ExportResult> {
  const tenantId = map.tenantTable.keyType === 'uuid' ? request.scope.tenantId.toLowerCase() : request.scope.tenantId;
  const scope = { ...request.scope, tenantId };
  const copies = planExport(map, scope, { format: request.format, tables: request.tables });
  const prefix = request.prefix ?? exportPrefix(tenantId, request.requestId);
  const { config } = deps;
  const keyring = kmsKeyring(config, config.KMS_EXPORT_KEY_ARN);
  const finalize: FinalizeEnvironment = { config, s3: deps.s3, kms: deps.kms, keyring, prefix, compressionLevel: options.compressionLevel ?? 1 };

  const existing = await completedExport(deps, prefix, tenantId, request.requestId);
  if (existing) return existing;

  const context = exportEncryptionContext(tenantId, request.requestId);
  const store = new CursorStore({ s3: deps.s3, bucket: config.S3_EXPORT_BUCKET, prefix, sseKmsKeyId: config.S3_SSE_KMS_KEY_ID, keyring, context });
  const cursor = startCursor(request.requestId, copies, await store.load(), options.resume);
  const todo = copies.filter((copy) => !cursor.completed.some((f) => f.path === copy.path));
  // Opening the snapshot also checks that the tenant exists, before anything is written.
  const snapshot = todo.length > 0 || cursor.snapshots.length === 0 ? await openExportSnapshot(deps.appPool, map, tenantId) : null;
  // schema.json depends on the plan only: written while the tables are copied.
  const schemaWritten = writeSchemaFile(finalize, context, buildSchemaFile(copies, request.format));
  schemaWritten.catch(() => undefined); // handled here so a failure before the await below is not "unhandled"
  try {
    if (snapshot) await copyTables(deps, { tenantId, requestId: request.requestId, prefix, format: request.format, keyring, store }, snapshot, copies, cursor, options);
    options.signal?.throwIfAborted();
  } catch (error) {
    // Nothing of this attempt may still be writing once it failed (a cancel deletes the prefix next).
    await schemaWritten.catch(() => undefined);
    throw error;
  } finally {
    await snapshot?.release();
  }

  const byPath = new Map(cursor.completed.map((f) => [f.path, f]));
  const schema = await schemaWritten;
  return writeManifest(finalize, {
    requestId: request.requestId,
    tenantId,
    subject: subjectOf(scope),
    dataFormat: request.format,
    compression: 'gzip',
    snapshots: cursor.snapshots,
    resumes: cursor.resumes,
    files: [schema, ...copies.map((copy) => byPath.get(copy.path)!)],
  });
}

interface ExportTarget {
  tenantId: string;
  requestId: string;
  prefix: string;
  format: ExportFormat;
  keyring: CopyEnvironment['keyring'];
  store: CursorStore;
}

/**
 * Makes the cursor's files true at this attempt's snapshot (kept or
 * discarded), then copies the tables still missing at that snapshot,
 * biggest first, a bounded number at a time. Each finished table goes into
 * the cursor, durably and in the heartbeat.
 */
async function copyTables(deps: ExportDependencies, target: ExportTarget, snapshot: ExportSnapshot, copies: TableCopy[], cursor: ExportCursor, options: ExportOptions) {
  // One table failing (or a cancel) stops the others at once instead of letting them run on.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const bucket = deps.config.S3_EXPORT_BUCKET;
  const { restarted } = await adoptSnapshot(
    { pool: deps.appPool, s3: deps.s3, bucket, prefix: target.prefix, tenantId: target.tenantId, requestId: target.requestId, store: target.store, onCursor: options.onCursor },
    snapshot, copies, cursor,
  );
  const todo = copies.filter((copy) => !cursor.completed.some((f) => f.path === copy.path));
  const progress = new ExportProgressTracker(restarted);
  for (const file of cursor.completed) progress.done(file.path, file.rows ?? 0);
  for (const [path, rows] of await estimateRows(deps.appPool, target.tenantId, todo)) progress.expect(path, rows);
  const env: CopyEnvironment = {
    pool: deps.appPool,
    snapshotId: snapshot.id,
    snapshotIndex: 0,
    ...target,
    context: exportEncryptionContext(target.tenantId, target.requestId),
    s3: deps.s3,
    bucket,
    sseKmsKeyId: deps.config.S3_SSE_KMS_KEY_ID,
    chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
    compressionLevel: options.compressionLevel ?? 1,
    signal,
    onProgress: (p) => options.onProgress?.(progress.update(p)),
  };
  const ordered = [...todo].sort((a, b) => (b.estimatedRows ?? 0) - (a.estimatedRows ?? 0));
  await runBounded(
    ordered.map((copy) => async () => {
      const file = await copyTableToChunks(env, copy).catch((error: unknown) => {
        stop.abort(error);
        throw error;
      });
      progress.done(file.path, file.rows ?? 0);
      cursor.completed.push(file);
      cursor.statements = { ...cursor.statements, [file.path]: statementSha256(copy) };
      await target.store.save(structuredClone(cursor));
      options.onCursor?.(structuredClone(cursor));
      return file;
    }),
    options.parallelTables ?? 3,
  );
}

async function completedExport(deps: ExportDependencies, prefix: string, tenantId: string, requestId: string): Promise<ExportResult | null> {
  const source = openExportSource(`s3://${deps.config.S3_EXPORT_BUCKET}/${prefix}`, deps.s3);
  if (!(await source.exists(MANIFEST_KEY))) return null;
  const verified = await readVerifiedManifest(source, deps, { tenantId, requestId });
  return summarizeExport(verified.manifest, {
    bucket: deps.config.S3_EXPORT_BUCKET,
    prefix,
    manifestSha256: verified.manifestSha256,
    manifestObjectBytes: verified.manifestObjectBytes,
  });
}
