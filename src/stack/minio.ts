import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Daemon, runningPid, startDaemon, tailOf, waitFor } from './process';

export interface MinioSettings {
  binary: string;
  home: string;
  port: number;
  consolePort: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** `<name>:<base64 32 bytes>`: MinIO's single static SSE-KMS key */
  kmsSecretKey: string;
}

export function minioDaemon(home: string): Daemon {
  const root = join(home, 'minio');
  return { name: 'minio', pidFile: join(root, 'pid'), logFile: join(root, 'minio.log') };
}

export async function startMinio(s: MinioSettings): Promise<void> {
  const daemon = minioDaemon(s.home);
  if (runningPid(daemon) !== undefined) return;
  const data = join(s.home, 'minio', 'data');
  mkdirSync(data, { recursive: true });
  startDaemon(daemon, s.binary, [
    'server', data, '--quiet',
    '--address', `127.0.0.1:${s.port}`,
    '--console-address', `127.0.0.1:${s.consolePort}`,
  ], {
    env: {
      ...process.env,
      MINIO_ROOT_USER: s.accessKeyId,
      MINIO_ROOT_PASSWORD: s.secretAccessKey,
      MINIO_KMS_SECRET_KEY: s.kmsSecretKey,
      MINIO_UPDATE: 'off',
      MINIO_API_STALE_UPLOADS_EXPIRY: '24h',
    },
  });
  await waitFor('MinIO', () => minioHealthy(`http://127.0.0.1:${s.port}`), 60_000,
    `See ${daemon.logFile}:\n${tailOf(daemon.logFile)}`);
}

export async function minioHealthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch {
    return false;
  }
}

/**
 * The exports bucket (incomplete multipart uploads expire, so a crashed upload
 * leaves nothing behind) and the receipts bucket with Object Lock, which can
 * only be switched on when a bucket is created.
 */
export async function ensureBuckets(s3: S3Client, exportsBucket: string, receiptsBucket: string): Promise<void> {
  if (!(await bucketExists(s3, exportsBucket))) {
    await s3.send(new CreateBucketCommand({ Bucket: exportsBucket }));
  }
  await putAbortIncompleteMultipartRule(s3, exportsBucket);
  if (!(await bucketExists(s3, receiptsBucket))) {
    await s3.send(new CreateBucketCommand({ Bucket: receiptsBucket, ObjectLockEnabledForBucket: true }));
    await s3.send(new PutObjectLockConfigurationCommand({
      Bucket: receiptsBucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        // Governance locally, so a developer can still reset the stack; production uses COMPLIANCE.
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
      },
    }));
  }
}

/**
 * S3 proper takes the rule; MinIO rejects it as malformed XML and instead
 * expires stale uploads itself (MINIO_API_STALE_UPLOADS_EXPIRY, set at start).
 */
async function putAbortIncompleteMultipartRule(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [{
          ID: 'abort-incomplete-multipart',
          Status: 'Enabled',
          Filter: { Prefix: '' },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        }],
      },
    }));
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (!['MalformedXML', 'InvalidArgument', 'NotImplemented'].includes(name)) throw error;
  }
}
