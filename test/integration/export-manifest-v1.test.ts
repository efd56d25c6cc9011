import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptExport } from '../../src/export/decrypt';
import { decryptStream, encryptBuffer, exportEncryptionContext } from '../../src/export/encrypt';
import { ChunkRecord, ExportResult, FileRecord } from '../../src/export/export.types';
import { MANIFEST_KEY, SIGNATURE_KEY } from '../../src/export/layout';
import { ExportManifest, serializeManifest, sha256Hex } from '../../src/export/manifest';
import { runExport } from '../../src/export/run-export';
import { signManifest } from '../../src/export/sign-manifest';
import { kmsKeyring } from '../../src/kms/keyring';
import { ExportTestEnv, openExportTestEnv } from '../helpers/export-env';

/**
 * Exports written before manifest format @2 named each chunk's own SHA-256
 * (`sha256`) instead of the file's running one (`fileSha256`). Such an
 * export, rebuilt here from a fresh one exactly as the @1 writer laid it out
 * (and signed as it signed it), still decrypts to the same bytes, and a chunk
 * whose plaintext does not match its @1 digest is still refused.
 */
let env: ExportTestEnv;
let tenantId: string;
let exported: ExportResult;
let requestId: string;
const prefixes: string[] = [];

const keyring = () => kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
const objectOf = async (key: string) => Buffer.from(await (await env.s3.send(new GetObjectCommand({ Bucket: exported.bucket, Key: key }))).Body!.transformToByteArray());
const put = (key: string, body: Buffer, contentType?: string) => env.s3.send(new PutObjectCommand({
  Bucket: exported.bucket, Key: exported.prefix + key, Body: body, ContentType: contentType,
  ServerSideEncryption: 'aws:kms', SSEKMSKeyId: env.config.S3_SSE_KMS_KEY_ID,
}));

/** A chunk's plaintext digest, the way the @1 writer computed it. */
async function chunkSha256(chunk: ChunkRecord): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(Readable.from([await objectOf(exported.prefix + chunk.key)]), decryptStream(keyring(), exportEncryptionContext(tenantId, requestId)), createGunzip(),
    new Writable({ write(data: Buffer, _encoding, done) { hash.update(data); done(); } }));
  return hash.digest('hex');
}

async function readManifest(): Promise<ExportManifest> {
  const plaintext: Buffer[] = [];
  await pipeline(Readable.from([await objectOf(exported.manifestKey)]), decryptStream(keyring(), exportEncryptionContext(tenantId, requestId)),
    new Writable({ write(data: Buffer, _encoding, done) { plaintext.push(data); done(); } }));
  return JSON.parse(Buffer.concat(plaintext).toString('utf8')) as ExportManifest;
}

/** Encrypts and signs `manifest` as the export does, replacing the stored manifest and signature. */
async function storeManifest(manifest: ExportManifest): Promise<void> {
  const plaintext = serializeManifest(manifest);
  const encrypted = await encryptBuffer(keyring(), exportEncryptionContext(tenantId, requestId), plaintext);
  const jws = await signManifest(env.kms, env.config.KMS_RECEIPT_KEY_ARN, {
    requestId, tenantId, manifest: { key: MANIFEST_KEY, sha256: sha256Hex(plaintext), objectSha256: sha256Hex(encrypted) }, signedAt: new Date().toISOString(),
  });
  await put(SIGNATURE_KEY, Buffer.from(jws, 'utf8'), 'application/jose');
  await put(MANIFEST_KEY, encrypted);
}

beforeAll(async () => {
  env = await openExportTestEnv('export_v1', { seed: 1093, tenants: 2, rowsPerTenant: 4000 });
  tenantId = env.tenants[0].id;
  requestId = randomUUID();
  exported = await runExport(env.deps, env.map, { requestId, scope: { tenantId }, format: 'csv' }, { chunkBytes: 64 * 1024 });
  prefixes.push(exported.prefix);
}, 180_000);

afterAll(async () => {
  await env?.close(prefixes);
});

describe('an export in manifest format @1', () => {
  let current: { out: string; files: FileRecord[] };

  it('decrypts to the same bytes as the @2 export it was rebuilt from', async () => {
    const { out, manifest } = await env.decrypt(exported, 'as-v2');
    current = { out, files: manifest.files as FileRecord[] };
    expect(current.files.some((f) => f.chunks.length > 1)).toBe(true);

    const v1 = await readManifest();
    v1.format = 'compliance-ops/export-manifest@1';
    for (const file of v1.files) {
      for (const chunk of file.chunks) {
        chunk.sha256 = await chunkSha256(chunk);
        delete chunk.fileSha256;
      }
    }
    await storeManifest(v1);

    const summary = await decryptExport(`s3://${exported.bucket}/${exported.prefix}`, join(env.work, 'as-v1'), env.deps, { tenantId, requestId });
    expect(summary.files.map((f) => f.path).sort()).toEqual(current.files.map((f) => f.path).sort());
    for (const file of current.files) {
      expect(await readFile(join(env.work, 'as-v1', file.path)), file.path).toEqual(await readFile(join(out, file.path)));
    }
  }, 120_000);

  it('refuses a chunk whose plaintext does not match its @1 digest, even under a valid signature', async () => {
    const v1 = await readManifest();
    expect(v1.format).toBe('compliance-ops/export-manifest@1');
    const file = v1.files.find((f) => f.chunks.length > 1)!;
    file.chunks[1].sha256 = '0'.repeat(64);
    await storeManifest(v1);
    const error = await decryptExport(`s3://${exported.bucket}/${exported.prefix}`, join(env.work, 'tampered'), env.deps, { tenantId, requestId }).then(
      () => null, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toContain(file.chunks[1].key);
  }, 120_000);
});
