import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Config } from '../config';
import { abortMultipartUploads, deleteKeys, listKeys } from '../s3/prefix';
import { encryptBuffer, encryptStream, EXPORT_SUITE_NAME, FRAME_BYTES } from './encrypt';
import { ExportResult, FileRecord } from './export.types';
import { chunkKey, MANIFEST_KEY, SCHEMA_PATH, SIGNATURE_KEY } from './layout';
import { buildManifest, ExportManifest, ManifestInput, serializeManifest, sha256Hex } from './manifest';
import { signManifest } from './sign-manifest';
import { putObject, streamToObject } from './upload';

export interface FinalizeEnvironment {
  config: Config;
  s3: S3Client;
  kms: KMSClient;
  keyring: KmsKeyringNode;
  prefix: string;
  compressionLevel: number;
}

/** schema.json goes through the same gzip → encrypt path as a one-chunk table. */
export async function writeSchemaFile(env: FinalizeEnvironment, context: Record<string, string>, schema: Buffer): Promise<FileRecord> {
  const key = chunkKey(SCHEMA_PATH, 0);
  const stored = await streamToObject(
    { s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, key: env.prefix + key, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID },
    Readable.from([schema]),
    [createGzip({ level: env.compressionLevel }), encryptStream(env.keyring, context)],
  );
  const sha256 = sha256Hex(schema);
  return {
    path: SCHEMA_PATH,
    table: null,
    rows: null,
    bytes: schema.length,
    sha256,
    snapshot: null,
    chunks: [{ index: 0, key, rows: 0, bytes: schema.length, fileSha256: sha256, objectBytes: stored.bytes, objectSha256: stored.sha256 }],
  };
}

/**
 * Completes an export: removes objects a failed earlier attempt left that the
 * manifest will not name, then writes the signature and, last, the encrypted
 * manifest. Readers treat the manifest's presence as "complete", so nothing
 * may be written after it.
 */
export async function writeManifest(
  env: FinalizeEnvironment,
  input: Omit<ManifestInput, 'encryption'>,
): Promise<ExportResult> {
  const bucket = env.config.S3_EXPORT_BUCKET;
  const target = (key: string) => ({ s3: env.s3, bucket, key: env.prefix + key, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID });
  const named = new Set(input.files.flatMap((f) => f.chunks.map((c) => env.prefix + c.key)));
  const removeStale = async () => {
    const stale = (await listKeys(env.s3, bucket, env.prefix)).filter((key) => !named.has(key));
    await deleteKeys(env.s3, bucket, stale);
    // A killed attempt cannot abort its own upload: whatever is still open under the prefix is an orphan.
    await abortMultipartUploads(env.s3, bucket, env.prefix);
  };

  const context = { tenant: input.tenantId, request: input.requestId, purpose: 'export' };
  const manifest = buildManifest({
    ...input,
    encryption: { keyArn: env.config.KMS_EXPORT_KEY_ARN, suite: EXPORT_SUITE_NAME, frameBytes: FRAME_BYTES, context },
  });
  const plaintext = serializeManifest(manifest);
  const manifestSha256 = sha256Hex(plaintext);
  const sealManifest = async () => {
    const encrypted = await encryptBuffer(env.keyring, context, plaintext);
    const jws = await signManifest(env.kms, env.config.KMS_RECEIPT_KEY_ARN, {
      requestId: input.requestId,
      tenantId: input.tenantId,
      manifest: { key: MANIFEST_KEY, sha256: manifestSha256, objectSha256: sha256Hex(encrypted) },
      signedAt: new Date().toISOString(),
    });
    return { encrypted, jws };
  };
  // Cleaning up and encrypting and signing are independent (KMS and S3 round trips): side by side.
  const [, { encrypted, jws }] = await Promise.all([removeStale(), sealManifest()]);
  await putObject(target(SIGNATURE_KEY), Buffer.from(jws, 'utf8'), 'application/jose');
  await putObject(target(MANIFEST_KEY), encrypted);

  return summarizeExport(manifest, { bucket, prefix: env.prefix, manifestSha256, manifestObjectBytes: encrypted.length });
}

/** The activity's result: where the export is and how big; no personal data, small enough for Temporal history. */
export function summarizeExport(
  manifest: ExportManifest,
  where: { bucket: string; prefix: string; manifestSha256: string; manifestObjectBytes: number },
): ExportResult {
  const tables = manifest.files.filter((f) => f.table !== null);
  const chunkBytes = manifest.files.reduce((sum, f) => sum + f.chunks.reduce((s, c) => s + c.objectBytes, 0), 0);
  return {
    bucket: where.bucket,
    prefix: where.prefix,
    manifestKey: where.prefix + MANIFEST_KEY,
    signatureKey: where.prefix + SIGNATURE_KEY,
    manifestSha256: where.manifestSha256,
    files: manifest.files.length,
    rows: tables.reduce((sum, f) => sum + (f.rows ?? 0), 0),
    bytes: tables.reduce((sum, f) => sum + f.bytes, 0),
    objectBytes: chunkBytes + where.manifestObjectBytes,
    consistent: manifest.consistent,
  };
}
