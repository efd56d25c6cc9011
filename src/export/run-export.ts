import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { kmsKeyring } from '../kms/keyring';
import { copyTableToChunks, CopyEnvironment } from './copy-table';
import { exportEncryptionContext } from './encrypt';
import { openExportSource } from './export-source';
import { ExportCursor, ExportFormat, ExportProgress, ExportResult, ExportScope, FileRecord, subjectOf } from './export.types';
import { FinalizeEnvironment, summarizeExport, writeManifest, writeSchemaFile } from './finalize';
import { exportPrefix, MANIFEST_KEY } from './layout';
import { planExport, TableCopy } from './plan';
import { readVerifiedManifest } from './read-manifest';
import { buildSchemaFile } from './schema-file';
import { runBounded } from './run-bounded';
import { openExportSnapshot } from './snapshot';

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
  /** chunks a previous attempt made durable; their tables are not copied again */
  resume?: ExportCursor;
  /** called whenever a table's last chunk is durable: persist this to resume */
  onCursor?(cursor: ExportCursor): void;
}

export const DEFAULT_CHUNK_BYTES = 128 * 1024 * 1024;

/**
 * Exports one tenant's or one subject's data to encrypted objects in S3 and
 * returns where they are. Resumes at table granularity: tables in `resume`
 * are kept, the others are copied under a new snapshot (the manifest then
 * records both snapshots and `consistent: false`). If the export is already
 * complete (its manifest exists) the existing result is returned.
 */
export async function runExport(deps: ExportDependencies, map: DataMap, request: ExportRequest, options: ExportOptions = {}): Promise<ExportResult> {
  const tenantId = map.tenantTable.keyType === 'uuid' ? request.scope.tenantId.toLowerCase() : request.scope.tenantId;
  const scope = { ...request.scope, tenantId };
  const copies = planExport(map, scope, { format: request.format, tables: request.tables });
  const prefix = exportPrefix(tenantId, request.requestId);
  const { config } = deps;
  const keyring = kmsKeyring(config, config.KMS_EXPORT_KEY_ARN);
  const finalize: FinalizeEnvironment = { config, s3: deps.s3, kms: deps.kms, keyring, prefix, compressionLevel: options.compressionLevel ?? 1 };

  const existing = await completedExport(deps, prefix, tenantId, request.requestId);
  if (existing) return existing;

  const cursor = startCursor(request.requestId, copies, options.resume);
  const todo = copies.filter((copy) => !cursor.completed.some((f) => f.path === copy.path));
  if (todo.length > 0 || cursor.snapshots.length === 0) {
    await copyTables(deps, map, { tenantId, requestId: request.requestId, prefix, format: request.format, keyring }, todo, cursor, options);
  }

  options.signal?.throwIfAborted();
  const byPath = new Map(cursor.completed.map((f) => [f.path, f]));
  const schema = await writeSchemaFile(finalize, exportEncryptionContext(tenantId, request.requestId), buildSchemaFile(copies, request.format));
  return writeManifest(finalize, {
    requestId: request.requestId,
    tenantId,
    subject: subjectOf(scope),
    dataFormat: request.format,
    compression: 'gzip',
    snapshots: cursor.snapshots,
    files: [schema, ...copies.map((copy) => byPath.get(copy.path)!)],
  });
}

interface ExportTarget {
  tenantId: string;
  requestId: string;
  prefix: string;
  format: ExportFormat;
  keyring: CopyEnvironment['keyring'];
}

/** Copies `todo` under one new snapshot, biggest tables first, a bounded number at a time. */
async function copyTables(deps: ExportDependencies, map: DataMap, target: ExportTarget, todo: TableCopy[], cursor: ExportCursor, options: ExportOptions) {
  const snapshot = await openExportSnapshot(deps.appPool, map, target.tenantId);
  // One table failing (or a cancel) stops the others at once instead of letting them run on.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  try {
    cursor.snapshots.push(snapshot.info);
    const env: CopyEnvironment = {
      pool: deps.appPool,
      snapshotId: snapshot.id,
      snapshotIndex: cursor.snapshots.length - 1,
      ...target,
      context: exportEncryptionContext(target.tenantId, target.requestId),
      s3: deps.s3,
      bucket: deps.config.S3_EXPORT_BUCKET,
      sseKmsKeyId: deps.config.S3_SSE_KMS_KEY_ID,
      chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      compressionLevel: options.compressionLevel ?? 1,
      signal,
      onProgress: options.onProgress,
    };
    const ordered = [...todo].sort((a, b) => (b.estimatedRows ?? 0) - (a.estimatedRows ?? 0));
    await runBounded(
      ordered.map((copy) => async () => {
        const file = await copyTableToChunks(env, copy).catch((error: unknown) => {
          stop.abort(error);
          throw error;
        });
        cursor.completed.push(file);
        options.onCursor?.(structuredClone(cursor));
        return file;
      }),
      options.parallelTables ?? 3,
    );
  } finally {
    await snapshot.release();
  }
}

/** The cursor to continue from: a previous attempt's, if it is for this request and these tables. */
function startCursor(requestId: string, copies: TableCopy[], resume?: ExportCursor): ExportCursor {
  if (!resume || resume.requestId !== requestId) return { requestId, snapshots: [], completed: [] };
  const planned = new Set(copies.map((c) => c.path));
  const kept = resume.completed.filter((f) => planned.has(f.path));
  // Keep only the snapshots kept tables were read under, renumbered.
  const used = [...new Set(kept.map((f) => f.snapshot ?? 0))].sort((a, b) => a - b);
  const completed: FileRecord[] = kept.map((f) => ({ ...f, snapshot: used.indexOf(f.snapshot ?? 0) }));
  return { requestId, snapshots: used.map((i) => resume.snapshots[i]), completed };
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
