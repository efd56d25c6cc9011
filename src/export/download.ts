import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Config } from '../config';
import type { RequestView } from '../requests/request.types';
import { listKeys } from '../s3/prefix';
import type { ExportResult } from './export.types';

/** Presigned links live long enough to start a download, not to be shared around. */
export const DOWNLOAD_TTL_SECONDS = 15 * 60;

export interface ExportDownload {
  /** the manifest: the object that proves the export complete and lists the rest */
  url: string;
  expiresAt: string;
  /** every object of the export (chunks, schema, signature, manifest), each presigned */
  objects: Array<{ key: string; url: string }>;
}

/**
 * Short-lived GET URLs for an export's objects. They are still encrypted
 * under the exports KMS key: `compliance-ops decrypt` turns them into files.
 */
export async function presignExport(s3: S3Client, config: Config, request: RequestView): Promise<ExportDownload> {
  const result = request.result as unknown as ExportResult;
  const sign = (key: string) =>
    getSignedUrl(s3, new GetObjectCommand({ Bucket: result.bucket, Key: key }), { expiresIn: DOWNLOAD_TTL_SECONDS });
  const keys = await listKeys(s3, result.bucket ?? config.S3_EXPORT_BUCKET, result.prefix);
  return {
    url: await sign(result.manifestKey),
    expiresAt: new Date(Date.now() + DOWNLOAD_TTL_SECONDS * 1000).toISOString(),
    objects: await Promise.all(keys.map(async (key) => ({ key, url: await sign(key) }))),
  };
}
