import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { KeyringNode } from '@aws-crypto/client-node';
import { decryptStream, encryptBuffer } from '../export/encrypt';
import { walPrefixOfTenant } from './archive-layout';
import { lsnKey, parseLsn } from './lsn';
import { Segment } from './wal.types';

export interface SegmentStoreEnvironment {
  s3: S3Client;
  bucket: string;
  sseKmsKeyId: string;
  keyring: KeyringNode;
}

/** Binds a segment to its tenant: KMS refuses to hand out its data key under another tenant's context. */
export function segmentEncryptionContext(tenantId: string) {
  return { tenant: tenantId, purpose: 'wal-segment' };
}

/**
 * `tenants/<t>/wal/<first commit LSN>-<last end LSN>.seg`: deterministic, so
 * a drain repeated after a crash overwrites the same object instead of adding
 * a second copy, and keys sort in LSN order.
 */
export function segmentKey(segment: Segment): string {
  const first = segment.transactions[0].commitLsn;
  const lastTx = segment.transactions[segment.transactions.length - 1];
  // A segment ending in a part of a large transaction (not its last) is named by that part too: each part has one of its own.
  const part = lastTx.part && !lastTx.part.final ? `.part-${String(lastTx.part.index).padStart(6, '0')}` : '';
  return `${walPrefixOfTenant(segment.tenantId)}${lsnKey(parseLsn(first))}-${lsnKey(parseLsn(segmentEndLsn(segment)))}${part}.seg`;
}

/** Where a segment's last record ends: its commit's end, or (a part before the last, which has no end yet) its commit LSN. */
export function segmentEndLsn(segment: Segment): string {
  const last = segment.transactions[segment.transactions.length - 1];
  return last.endLsn === '' ? last.commitLsn : last.endLsn;
}

/**
 * `tenants/<t>/wal/<first>-<last>.<digest>.seg` for a segment compaction
 * merged from the objects `inputKeys`: a rerun of the same merge writes the
 * same key, and no merged key is ever a drained segment's key or another
 * merge's (the digest names the inputs), so writing one never overwrites an
 * object a catalog row or a restore still uses.
 */
export function mergedSegmentKey(segment: Segment, inputKeys: string[]): string {
  const digest = createHash('sha256').update([...inputKeys].sort().join('\n')).digest('hex').slice(0, 16);
  return segmentKey(segment).replace(/\.seg$/, `.${digest}.seg`);
}

/** Gzipped JSON, envelope-encrypted, stored with SSE-KMS as well, under `key` (default: segmentKey). Resolves once S3 has it. */
export async function putSegment(env: SegmentStoreEnvironment, segment: Segment, key = segmentKey(segment)): Promise<string> {
  // Level 1: the default (6) cost a drain more CPU than decoding the WAL, for segments a few percent smaller.
  const body = await encryptBuffer(env.keyring, segmentEncryptionContext(segment.tenantId), gzipSync(Buffer.from(JSON.stringify(segment)), { level: 1 }));
  await env.s3.send(
    new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: env.sseKmsKeyId }),
  );
  return key;
}

const gunzip = promisify(gunzipCallback);

export async function getSegment(env: Omit<SegmentStoreEnvironment, 'sseKmsKeyId'>, key: string, tenantId: string): Promise<Segment> {
  const response = await env.s3.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }));
  const chunks: Buffer[] = [];
  await pipeline(
    response.Body as Readable,
    decryptStream(env.keyring, segmentEncryptionContext(tenantId)),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    }),
  );
  // Off the event loop: a restore reads many segments while it decrypts and loads its snapshot beside them.
  const segment = JSON.parse((await gunzip(Buffer.concat(chunks))).toString('utf8')) as Segment;
  if (segment.version !== 1 || segment.tenantId !== tenantId) throw new Error(`segment ${key} is not a version-1 segment of tenant ${tenantId}`);
  return segment;
}
