import { S3Client } from '@aws-sdk/client-s3';
import { Config } from '../config';

/** S3 in production, MinIO locally: only the endpoint and credentials differ. */
export function createS3Client(config: Config): S3Client {
  return new S3Client({
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
    credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
  });
}
