import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { returnPartBuffer, takePartBuffer } from './part-buffers';

export interface ObjectTarget {
  s3: S3Client;
  bucket: string;
  key: string;
  /** SSE-KMS on top of our own encryption: defence in depth, and bucket policies can demand it */
  sseKmsKeyId: string;
}

export interface PartBudget {
  /** bytes per multipart part (S3: at least 5 MiB, except the last) */
  partBytes: number;
  /** parts uploading while the next one fills */
  partsInFlight: number;
}

/**
 * 5 MiB parts (S3's minimum) allow objects up to 48 GiB (10,000 parts);
 * chunks are far smaller. No part in flight while the next fills: measured
 * on 2 cores, waiting for each part was faster than overlapping it (S3 and
 * gzip compete for the same cores) and holds one buffer per object instead
 * of two.
 */
export const DEFAULT_PART_BUDGET: PartBudget = { partBytes: 5 * 1024 * 1024, partsInFlight: 0 };

/**
 * Whatever is written becomes one S3 object: one PUT if it fits in one part,
 * else a multipart upload. Memory is exactly `partsInFlight + 1` part buffers,
 * filled in place and reused from part to part and object to object
 * (lib-storage's Upload concatenates each part from the pieces written and
 * keeps `queueSize` more, which costs twice the memory and a copy, and
 * allocates afresh for every part). Each part carries a CRC32 that
 * S3 checks on receipt; the SHA-256 of the bytes as stored is kept for the
 * manifest. If the stream is destroyed (an error, a cancel) an unfinished
 * multipart upload is aborted before the destroy completes, so no half
 * object and no stray parts remain.
 */
export class ObjectWriter extends Writable {
  /** bytes written so far, and their SHA-256 once finished */
  bytes = 0;
  readonly sha256 = createHash('sha256');
  private current: Buffer | null = null;
  private used = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly completed: CompletedPart[] = [];
  private uploadId: Promise<string> | null = null;
  private finished = false;
  private failure: Error | null = null;

  constructor(private readonly target: ObjectTarget, private readonly budget: PartBudget = DEFAULT_PART_BUDGET) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sha256.update(chunk);
    this.bytes += chunk.length;
    this.fill(chunk, 0, callback);
  }

  /** Copies `chunk` from `from` on into part buffers, sending each full one; waits when all buffers are busy. */
  private fill(chunk: Buffer, from: number, callback: (error?: Error | null) => void): void {
    let pos = from;
    while (pos < chunk.length) {
      const part = (this.current ??= takePartBuffer(this.budget.partBytes));
      const copied = chunk.copy(part, this.used, pos);
      this.used += copied;
      pos += copied;
      if (this.used < part.length) continue;
      this.sendCurrentPart();
      if (this.inFlight.size > this.budget.partsInFlight) {
        Promise.race(this.inFlight).then(
          () => (this.failure ? callback(this.failure) : this.fill(chunk, pos, callback)),
          callback,
        );
        return;
      }
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.complete().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abort().then(() => callback(error), () => callback(error));
  }

  private async complete(): Promise<void> {
    if (this.uploadId === null) {
      // It all fit in one part: a single PUT, all or nothing by S3's semantics.
      const buffer = this.current;
      this.current = null;
      const body = buffer ? buffer.subarray(0, this.used) : Buffer.alloc(0);
      await this.target.s3.send(new PutObjectCommand({ ...this.objectParams(), Body: body, ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }));
      this.finished = true;
      if (buffer) returnPartBuffer(buffer);
      return;
    }
    if (this.used > 0) this.sendCurrentPart();
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const { bucket, key, s3 } = this.target;
    const parts = [...this.completed].sort((a, b) => a.PartNumber! - b.PartNumber!);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: await this.uploadId, MultipartUpload: { Parts: parts } }));
    this.finished = true;
  }

  /** Uploads the filled buffer as the next part; the buffer is reused once S3 has it. */
  private sendCurrentPart(): void {
    const buffer = this.current!;
    const body = buffer.subarray(0, this.used);
    this.current = null;
    this.used = 0;
    const partNumber = this.completed.length + this.inFlight.size + 1;
    const { bucket, key, s3 } = this.target;
    this.uploadId ??= s3
      .send(new CreateMultipartUploadCommand({ ...this.objectParams(), ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }))
      .then((created) => created.UploadId!);
    const sent = this.uploadId
      .then((uploadId) => s3.send(new UploadPartCommand({
        Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
      })))
      .then((result) => {
        this.completed.push({ PartNumber: partNumber, ETag: result.ETag, ChecksumCRC32: result.ChecksumCRC32 });
        returnPartBuffer(buffer);
      })
      .catch((error: unknown) => {
        // The buffer is not reused: the SDK may still hold it. The failure surfaces on the next write or at the end.
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** Aborts an unfinished multipart upload, once no part is still being sent into it. */
  private async abort(): Promise<void> {
    this.giveBackCurrent();
    if (this.finished || this.uploadId === null) return;
    await Promise.allSettled(this.inFlight);
    const uploadId = await this.uploadId.catch(() => null);
    if (uploadId === null) return;
    const { bucket, key, s3 } = this.target;
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  }

  /** The part being filled (never sent) goes back to the pool. */
  private giveBackCurrent(): void {
    if (this.current) returnPartBuffer(this.current);
    this.current = null;
  }

  private objectParams() {
    const { bucket, key, sseKmsKeyId } = this.target;
    return { Bucket: bucket, Key: key, ContentType: 'application/octet-stream', ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: sseKmsKeyId };
  }
}
