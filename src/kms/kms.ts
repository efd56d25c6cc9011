import { KMSClient } from '@aws-sdk/client-kms';
import { Config } from '../config';

/** AWS KMS in production, local-kms locally (which ignores the credentials). */
export function createKmsClient(config: Config): KMSClient {
  return new KMSClient({
    region: config.KMS_REGION,
    ...(config.KMS_ENDPOINT
      ? { endpoint: config.KMS_ENDPOINT, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}
