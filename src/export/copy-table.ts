import { createGzip } from 'node:zlib';
import { KeyringNode, EncryptionContext } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { workerMetrics } from '../metrics/worker-metrics';
import { TableChunker } from './chunker';
import { BATCH_BYTES, CopyOutStream, RowBatch } from './copy-out';
import { encryptStream, FRAME_BYTES } from './encrypt';
import { ChunkRecord, ExportFormat, ExportProgress, FileRecord } from './export.types';
import { chunkKey } from './layout';
import { TableCopy } from './plan';
import { headerRows } from './row-scanner';
import { withSnapshotTransaction } from './snapshot';
import { streamToObject } from './upload';

/** Everything a table copy needs besides the table; shared by all tables of one export. */
export interface CopyEnvironment {
  pool: Pool;
  snapshotId: string;
  snapshotIndex: number;
  tenantId: string;
  format: ExportFormat;
  keyring: KeyringNode;
  context: EncryptionContext;
  s3: S3Client;
  bucket: string;
  prefix: string;
  sseKmsKeyId: string;
  chunkBytes: number;
  compressionLevel: number;
  signal?: AbortSignal;
  onProgress?(progress: ExportProgress): void;
}

/** Report progress about every this many bytes, not on every 64 KiB COPY buffer. */
const PROGRESS_EVERY_BYTES = 4 * 1024 * 1024;
/**
 * gzip output pieces of one encryption frame: the Encryption SDK then encrypts
 * each piece as one frame, and zlib's 16 KiB default would cost 16× the hops
 * through encryption and upload for the same bytes.
 */
const GZIP_CHUNK_BYTES = FRAME_BYTES;

/**
 * Copies one table at the export snapshot into encrypted chunk objects:
 * COPY → chunker (cuts between rows, hashes) → gzip → ESDK encrypt → S3.
 * Chunks upload one after another; tables run in parallel around this.
 */
export async function copyTableToChunks(env: CopyEnvironment, copy: TableCopy): Promise<FileRecord> {
  return withSnapshotTransaction(env.pool, env.snapshotId, env.tenantId, async (client) => {
    const stream = client.query(new CopyOutStream(copy.sql, Math.min(BATCH_BYTES, env.chunkBytes)));
    // Once destroyed, the COPY stream still hears about the connection closing; nothing must throw then.
    stream.on('error', () => undefined);
    const abort = () => stream.destroy(env.signal?.reason instanceof Error ? env.signal.reason : new Error('export cancelled'));
    env.signal?.addEventListener('abort', abort, { once: true });
    try {
      const chunks: ChunkRecord[] = [];
      let reported = 0;
      const batches = stream[Symbol.asyncIterator]() as AsyncIterator<RowBatch>;
      const chunker = new TableChunker(batches, env.chunkBytes, (bytes, rows) => {
        if (bytes - reported < PROGRESS_EVERY_BYTES) return;
        reported = bytes;
        env.onProgress?.({ table: copy.path, rows: Math.max(0, rows - headerRows(env.format)), bytes, chunk: chunks.length });
      });
      do {
        const index = chunks.length;
        const chunkStarted = performance.now();
        const key = chunkKey(copy.path, index);
        const { stream: plaintext, stats } = chunker.nextChunk();
        const transforms = [createGzip({ level: env.compressionLevel, chunkSize: GZIP_CHUNK_BYTES }), encryptStream(env.keyring, env.context)];
        const stored = await streamToObject(target(env, key), plaintext, transforms, env.signal);
        chunks.push({
          index,
          key,
          rows: stats.rows - (index === 0 ? headerRows(env.format) : 0),
          bytes: stats.bytes,
          fileSha256: stats.fileSha256!,
          objectBytes: stored.bytes,
          objectSha256: stored.sha256,
        });
        workerMetrics().exportedChunk(chunks[index], (performance.now() - chunkStarted) / 1000);
      } while (await chunker.hasMore());

      const rows = chunker.fileRows - headerRows(env.format);
      // The CopyData messages we counted and the server's own count must agree, or a chunk may have been cut inside a row.
      if (rows !== stream.rowCount) throw new Error(`${copy.path}: received ${rows} rows but COPY reported ${stream.rowCount}`);
      env.onProgress?.({ table: copy.path, rows, bytes: chunker.fileBytes, chunk: chunks.length - 1 });
      return {
        path: copy.path,
        table: { schema: copy.table.schema, name: copy.table.name },
        rows,
        bytes: chunker.fileBytes,
        sha256: chunker.fileHash.digest('hex'),
        snapshot: env.snapshotIndex,
        chunks,
      };
    } catch (error) {
      stream.destroy();
      throw error;
    } finally {
      env.signal?.removeEventListener('abort', abort);
    }
  });
}

function target(env: CopyEnvironment, key: string) {
  return { s3: env.s3, bucket: env.bucket, key: env.prefix + key, sseKmsKeyId: env.sseKmsKeyId };
}
