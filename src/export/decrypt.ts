import { createHash, Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Config } from '../config';
import { kmsKeyring } from '../kms/keyring';
import { decryptStream } from './encrypt';
import { ExportSource, openExportSource } from './export-source';
import { ChunkRecord, ExportFormat, FileRecord } from './export.types';
import { isSafeChunkKey, isSafeFilePath } from './layout';
import { ExportManifest, ManifestScope } from './manifest';
import { ExpectedExport, ExportVerificationError, readVerifiedManifest } from './read-manifest';
import { headerRows, RowScanner } from './row-scanner';
import { check, tap } from './stream-checks';

export interface DecryptDependencies {
  config: Config;
  s3: S3Client;
  kms: KMSClient;
}

export interface DecryptSummary {
  requestId: string;
  tenantId: string;
  scope: ManifestScope;
  snapshotTakenAt: string[];
  consistent: boolean;
  signedBy: string;
  files: Array<{ path: string; rows: number | null; bytes: number }>;
}

/**
 * Turns an export back into files under `outDir` (`schema.json`,
 * `manifest.json`, `tables/…`) and checks everything on the way: the
 * manifest's signature, each object's SHA-256, each message's encryption
 * context (tenant and request), each chunk's and file's SHA-256, byte and row
 * counts. Plaintext is written to `<file>.partial` and renamed only once the
 * whole file checked out. Throws ExportVerificationError naming what failed.
 */
export async function decryptExport(
  location: string,
  outDir: string,
  deps: DecryptDependencies,
  expect: ExpectedExport = {},
): Promise<DecryptSummary> {
  const source = openExportSource(location, deps.s3);
  const verified = await readVerifiedManifest(source, deps, expect);
  const { manifest } = verified;
  const keyring = kmsKeyring(deps.config, deps.config.KMS_EXPORT_KEY_ARN);
  await mkdir(join(outDir, 'tables'), { recursive: true });
  for (const file of manifest.files) {
    await restoreFile(source, keyring, verified.context, manifest.dataFormat, file, outDir);
  }
  await writeFileAtomically(join(outDir, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  return summarize(manifest, verified.signedBy);
}

async function restoreFile(
  source: ExportSource,
  keyring: KmsKeyringNode,
  context: Record<string, string>,
  format: ExportFormat,
  file: FileRecord,
  outDir: string,
): Promise<void> {
  if (!isSafeFilePath(file.path)) throw new ExportVerificationError('manifest.json', `refuses to write the file path ${JSON.stringify(file.path)}`);
  const target = join(outDir, ...file.path.split('/'));
  const partial = `${target}.partial`;
  await mkdir(dirname(target), { recursive: true });
  const out = createWriteStream(partial);
  const fileHash = createHash('sha256');
  const scanner = new RowScanner(format);
  let fileBytes = 0;
  let fileRows = 0;
  try {
    for (const chunk of file.chunks) {
      const counted = await restoreChunk(source, keyring, context, chunk, scanner, out, fileHash);
      fileBytes += counted.bytes;
      fileRows += counted.rows;
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const rows = file.table ? fileRows - headerRows(format) : null;
    check(file.path, fileBytes === file.bytes, `has ${fileBytes} bytes, the manifest says ${file.bytes}`);
    check(file.path, fileHash.digest('hex') === file.sha256, 'SHA-256 does not match the manifest');
    check(file.path, rows === file.rows, `has ${rows} rows, the manifest says ${file.rows}`);
    await rename(partial, target);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * One chunk object: hash the ciphertext, decrypt, gunzip, hash (into the
 * file's running hash) and count the plaintext, append to the file.
 */
async function restoreChunk(
  source: ExportSource,
  keyring: KmsKeyringNode,
  context: Record<string, string>,
  chunk: ChunkRecord,
  scanner: RowScanner,
  out: Writable,
  fileHash: Hash,
): Promise<{ bytes: number; rows: number }> {
  if (!isSafeChunkKey(chunk.key)) throw new ExportVerificationError('manifest.json', `names an unexpected object ${JSON.stringify(chunk.key)}`);
  const objectHash = createHash('sha256');
  // Manifests @1 name each chunk's own digest; @2 the file's digest so far, checked from a copy of the running hash.
  const chunkHash = chunk.fileSha256 === undefined ? createHash('sha256') : null;
  let objectBytes = 0;
  let bytes = 0;
  let rows = 0;
  const ciphertextTap = tap((data) => {
    objectHash.update(data);
    objectBytes += data.length;
  });
  const plaintextTap = tap((data) => {
    chunkHash?.update(data);
    fileHash.update(data);
    bytes += data.length;
    rows += scanner.scan(data).rows;
  });
  try {
    await pipeline(await source.open(chunk.key), ciphertextTap, decryptStream(keyring, context), createGunzip(), plaintextTap, out, { end: false });
  } catch (error) {
    throw new ExportVerificationError(chunk.key, `cannot be decrypted: ${(error as Error).message}`, { cause: error });
  }
  check(chunk.key, objectBytes === chunk.objectBytes && objectHash.digest('hex') === chunk.objectSha256, 'the object does not match the manifest (altered or replaced)');
  const digest = chunkHash ? chunkHash.digest('hex') === chunk.sha256 : fileHash.copy().digest('hex') === chunk.fileSha256;
  check(chunk.key, bytes === chunk.bytes && digest, 'the decrypted chunk does not match the manifest');
  return { bytes, rows };
}

async function writeFileAtomically(path: string, data: Buffer): Promise<void> {
  await writeFile(`${path}.partial`, data);
  await rename(`${path}.partial`, path);
}

function summarize(manifest: ExportManifest, signedBy: string): DecryptSummary {
  return {
    requestId: manifest.requestId,
    tenantId: manifest.tenantId,
    scope: manifest.scope,
    snapshotTakenAt: manifest.snapshots.map((s) => s.takenAt),
    consistent: manifest.consistent,
    signedBy,
    files: manifest.files.map((f) => ({ path: f.path, rows: f.rows, bytes: f.bytes })),
  };
}
