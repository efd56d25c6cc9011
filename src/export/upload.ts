import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/**
 * Multipart upload with bounded memory: lib-storage buffers at most about
 * queueSize × partSize (16 MiB) per object. 8 MiB parts allow objects up to
 * 78 GiB (10,000 parts); chunks are far smaller.
 */
export const PART_BYTES = 8 * 1024 * 1024;
export const UPLOAD_QUEUE_SIZE = 2;

export interface ObjectTarget {
  s3: S3Client;
  bucket: string;
  key: string;
  /** SSE-KMS on top of our own encryption: defence in depth, and bucket policies can demand it */
  sseKmsKeyId: string;
}

export interface UploadedObject {
  bytes: number;
  sha256: string;
}

/**
 * Streams `source` through `transforms` into one S3 object, hashing the bytes
 * as stored. If anything fails, or `signal` aborts, the stream is destroyed;
 * that fails the Upload, which aborts the multipart upload (leavePartsOnError
 * false) before this rejects, so no half object and no stray parts remain.
 */
export async function streamToObject(
  target: ObjectTarget,
  source: Readable,
  transforms: NodeJS.ReadWriteStream[],
  signal?: AbortSignal,
): Promise<UploadedObject> {
  const hash = createHash('sha256');
  let bytes = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const upload = new Upload({
    client: target.s3,
    partSize: PART_BYTES,
    queueSize: UPLOAD_QUEUE_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentType: 'application/octet-stream',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: target.sseKmsKeyId,
    },
  });
  const uploaded = upload.done();
  const streamed = pipeline([source, ...transforms, body], signal ? { signal } : {});
  try {
    await Promise.all([streamed, uploaded]);
  } catch (error) {
    // Either side failed: stop the other and wait for the upload to settle,
    // so its multipart upload is aborted before we report the failure.
    const reason = error instanceof Error ? error : new Error(String(error));
    source.destroy(reason);
    body.destroy(reason);
    await Promise.allSettled([streamed, uploaded]);
    throw error;
  }
  return { bytes, sha256: hash.digest('hex') };
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
