import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { objectExists } from '../s3/prefix';
import { Jwks } from './keys';

/**
 * The receipts bucket: receipts, checkpoints and public keys, written once
 * under Object Lock (the bucket's default retention: COMPLIANCE in production,
 * GOVERNANCE for a day locally). Only evidence goes here — never personal
 * data, never exports — because a locked object cannot be erased before its
 * retention ends, not even to honour an erasure request.
 *
 *   receipts/<tenant>/<receiptId>.jws
 *   checkpoints/<tree size>.note
 *   keys/jwks.json
 *
 * Every write is "put if absent": a retried activity must not pile up
 * versions, and an object that exists is never replaced by a different one.
 * `prefix` (default none) keeps two logs in one bucket apart, e.g. in tests.
 */
export class ReceiptsBucket {
  constructor(private readonly s3: S3Client, readonly bucket: string, readonly prefix = '') {}

  receiptKey(tenantId: string, receiptId: string): string {
    return `${this.prefix}receipts/${encodeURIComponent(tenantId)}/${receiptId}.jws`;
  }

  checkpointKey(size: number): string {
    return `${this.prefix}checkpoints/${size}.note`;
  }

  get jwksKey(): string {
    return `${this.prefix}keys/jwks.json`;
  }

  async putReceipt(tenantId: string, receiptId: string, jws: string): Promise<void> {
    await this.putOnce(this.receiptKey(tenantId, receiptId), jws, 'application/jose');
  }

  async putCheckpoint(size: number, note: string): Promise<void> {
    await this.putOnce(this.checkpointKey(size), note, 'text/plain; charset=utf-8');
  }

  /** The key set changes only when a key is rotated; then a new version is written. */
  async putJwks(jwks: Jwks): Promise<void> {
    const body = `${JSON.stringify(jwks, null, 2)}\n`;
    if ((await this.read(this.jwksKey)) === body) return;
    await this.put(this.jwksKey, body, 'application/jwk-set+json');
  }

  async read(key: string): Promise<string | null> {
    if (!(await objectExists(this.s3, this.bucket, key))) return null;
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return object.Body ? object.Body.transformToString('utf8') : null;
  }

  private async putOnce(key: string, body: string, contentType: string): Promise<void> {
    if (await objectExists(this.s3, this.bucket, key)) return;
    await this.put(key, body, contentType);
  }

  private async put(key: string, body: string, contentType: string): Promise<void> {
    // Object Lock refuses uploads without an integrity checksum; SHA-256 also lets S3 reject a corrupted body.
    await this.s3.send(new PutObjectCommand({
      Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ChecksumAlgorithm: 'SHA256',
    }));
  }
}
