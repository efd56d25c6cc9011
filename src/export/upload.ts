import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_PART_BUDGET, ObjectTarget, ObjectWriter, PartBudget } from './object-writer';

export type { ObjectTarget } from './object-writer';

export interface UploadedObject {
  bytes: number;
  sha256: string;
}

/**
 * Streams `source` through `transforms` into one S3 object, hashing the bytes
 * as stored. If anything fails, or `signal` aborts, every stream is
 * destroyed; this resolves only after the writer aborted its multipart upload,
 * so no half object and no stray parts remain when the caller hears of it.
 */
export async function streamToObject(
  target: ObjectTarget,
  source: Readable,
  transforms: NodeJS.ReadWriteStream[],
  signal?: AbortSignal,
  budget: PartBudget = DEFAULT_PART_BUDGET,
): Promise<UploadedObject> {
  const writer = new ObjectWriter(target, budget);
  // 'close' comes after _destroy finished, i.e. after the multipart upload was aborted.
  const closed = new Promise<void>((resolve) => writer.once('close', () => resolve()));
  try {
    await pipeline([source, ...transforms, writer], signal ? { signal } : {});
  } catch (error) {
    writer.destroy(error instanceof Error ? error : new Error(String(error)));
    await closed;
    throw error;
  }
  return { bytes: writer.bytes, sha256: writer.sha256.digest('hex') };
}

/** A small object (signature, manifest) in one PUT: all or nothing by S3's semantics. */
export async function putObject(target: ObjectTarget, body: Buffer, contentType = 'application/octet-stream'): Promise<UploadedObject> {
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentType: contentType,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: target.sseKmsKeyId,
    }),
  );
  return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}
