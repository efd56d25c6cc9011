import { createHash, Hash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { KeyringNode } from '@aws-crypto/client-node';
import { PoolClient, escapeIdentifier as q } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { decryptStream } from '../export/encrypt';
import { ExportSource } from '../export/export-source';
import { ChunkRecord, FileRecord } from '../export/export.types';
import { isSafeChunkKey } from '../export/layout';
import { ExportVerificationError } from '../export/read-manifest';
import { check, tap } from '../export/stream-checks';

/**
 * A snapshot's table file streamed from S3 straight into COPY: each chunk
 * object hashed as stored, decrypted under the snapshot's encryption
 * context, gunzipped, hashed and counted as plaintext. The checks are
 * decryptExport's (src/export/decrypt.ts): object size and digest, chunk
 * bytes and digest (manifest @1: the chunk's own; @2: the file's so far),
 * file bytes and digest; the rows are COPY's own count, checked against the
 * manifest (the digest already proves the bytes are the manifest's, so
 * counting rows in JavaScript again would only cost CPU). The caller COPYs inside a
 * transaction and commits only if this resolves, so no plaintext touches
 * the disk and no unverified row is ever committed. (It belongs next to
 * decryptExport, sharing its chunk checks, once the export module can take it.)
 *
 * `beforeCopy` sees the file's columns first (the staging table may need
 * one the live table has dropped since). Resolves with the rows COPYed.
 */
export async function copyVerifiedCsv(
  client: PoolClient, source: ExportSource, keyring: KeyringNode, context: Record<string, string>, file: FileRecord, table: string,
  beforeCopy: (columns: string[]) => Promise<void> = async () => undefined,
): Promise<number> {
  const read = verifiedPlaintext(source, keyring, context, file);
  // COPY needs the column list, which is the file's header line.
  const { header, rest } = await firstLine(read.stream);
  const names = header.split(',').map((c) => c.replace(/^"|"$/g, ''));
  await beforeCopy(names);
  const copy = client.query(copyFrom(`COPY ${table} (${names.map(q).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true)`));
  try {
    await pipeline(rest, copy);
  } catch (error) {
    // COPY can fail before the checks at the end of the file do (another table's object in this one's place):
    // read the file again, checks only, so a file that does not check out is reported as exactly that.
    await verifyFile(source, keyring, context, file);
    throw error;
  }
  read.finish();
  const rows = Number(copy.rowCount);
  check(file.path, rows === file.rows, `COPY took ${rows} rows, the manifest says ${file.rows}`);
  return rows;
}

/** Reads a table file through every check, keeping nothing. */
async function verifyFile(source: ExportSource, keyring: KeyringNode, context: Record<string, string>, file: FileRecord): Promise<void> {
  const read = verifiedPlaintext(source, keyring, context, file);
  for await (const data of read.stream) void data;
  read.finish();
}

/** The file's plaintext, every chunk checked as it ends; `finish` checks the whole file once the stream has ended. */
function verifiedPlaintext(source: ExportSource, keyring: KeyringNode, context: Record<string, string>, file: FileRecord): { stream: Readable; finish(): void } {
  const fileHash = createHash('sha256');
  const totals = { bytes: 0 };
  const stream = Readable.from(inPieces(plaintextOf(source, keyring, context, file, fileHash, totals)), { objectMode: false });
  return {
    stream,
    finish() {
      check(file.path, totals.bytes === file.bytes, `has ${totals.bytes} bytes, the manifest says ${file.bytes}`);
      check(file.path, fileHash.digest('hex') === file.sha256, 'SHA-256 does not match the manifest');
    },
  };
}

/**
 * Plaintext goes to COPY in pieces of about this size: each piece is one
 * CopyData message (two socket writes), and gunzip's default 16 KiB output
 * made those writes cost more than the COPY itself.
 */
const PIECE_BYTES = 256 * 1024;

async function* inPieces(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let bytes = 0;
  for await (const data of source) {
    held.push(data);
    bytes += data.length;
    if (bytes >= PIECE_BYTES) {
      yield held.length === 1 ? held[0] : Buffer.concat(held, bytes);
      held = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield Buffer.concat(held, bytes);
}

async function* plaintextOf(
  source: ExportSource, keyring: KeyringNode, context: Record<string, string>, file: FileRecord, fileHash: Hash, totals: { bytes: number },
): AsyncGenerator<Buffer> {
  for (const chunk of file.chunks) {
    if (!isSafeChunkKey(chunk.key)) throw new ExportVerificationError('manifest.json', `names an unexpected object ${JSON.stringify(chunk.key)}`);
    const objectHash = createHash('sha256');
    const chunkHash = chunk.fileSha256 === undefined ? createHash('sha256') : null;
    let objectBytes = 0;
    let bytes = 0;
    const out = new PassThrough();
    const decrypted = pipeline(await source.open(chunk.key), tap((data) => {
      objectHash.update(data);
      objectBytes += data.length;
    }), decryptStream(keyring, context), createGunzip({ chunkSize: PIECE_BYTES }), out).catch((error: unknown) => {
      throw new ExportVerificationError(chunk.key, `cannot be decrypted: ${(error as Error).message}`, { cause: error });
    });
    try {
      for await (const data of out as AsyncIterable<Buffer>) {
        chunkHash?.update(data);
        fileHash.update(data);
        bytes += data.length;
        yield data;
      }
    } catch (error) {
      await decrypted; // the download's own failure, as a verification error, when that is what ended the stream
      throw error;
    } finally {
      // Stopped early (COPY failed): end the download too; its own error, if any, is the caller's to see.
      out.destroy();
      await decrypted.catch(() => undefined);
    }
    await decrypted;
    checkChunk(chunk, objectBytes, objectHash, bytes, chunkHash, fileHash);
    totals.bytes += bytes;
  }
}

function checkChunk(chunk: ChunkRecord, objectBytes: number, objectHash: Hash, bytes: number, chunkHash: Hash | null, fileHash: Hash): void {
  check(chunk.key, objectBytes === chunk.objectBytes && objectHash.digest('hex') === chunk.objectSha256, 'the object does not match the manifest (altered or replaced)');
  const digest = chunkHash ? chunkHash.digest('hex') === chunk.sha256 : fileHash.copy().digest('hex') === chunk.fileSha256;
  check(chunk.key, bytes === chunk.bytes && digest, 'the decrypted chunk does not match the manifest');
}

/** Reads up to the first newline; `rest` replays everything read (header included) and then the remainder. */
async function firstLine(stream: Readable): Promise<{ header: string; rest: Readable }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const seen: Buffer[] = [];
  let header: string | null = null;
  while (header === null) {
    const next = await iterator.next();
    if (next.done) break;
    seen.push(next.value);
    const all = Buffer.concat(seen);
    const end = all.indexOf(0x0a);
    if (end >= 0) header = all.subarray(0, end).toString('utf8');
  }
  if (header === null) throw new ExportVerificationError('manifest.json', 'a table file has no header line');
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield* seen;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.(); // COPY stopped early: stop reading (and downloading) too
    }
  }
  return { header, rest: Readable.from(replay(), { objectMode: false }) };
}
