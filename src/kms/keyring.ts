import { KMS, KmsKeyringNode, cacheClients, getClient } from '@aws-crypto/client-node';
import { Config } from '../config';

/**
 * An AWS Encryption SDK keyring over one KMS key. The SDK builds its own KMS
 * clients (one per region, taken from the key ARN), so the endpoint is passed
 * through its client provider; production leaves it to the AWS defaults.
 * Key ids must be full ARNs: on decrypt the keyring only tries data keys
 * whose provider info equals a configured ARN, so an alias would never match.
 */
export function kmsKeyring(config: Config, keyArn: string): KmsKeyringNode {
  if (!keyArn.startsWith('arn:')) throw new Error(`A full KMS key ARN is needed here, not ${keyArn}`);
  const clientProvider = config.KMS_ENDPOINT
    ? cacheClients(getClient(KMS, { endpoint: config.KMS_ENDPOINT, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }))
    : undefined;
  return new KmsKeyringNode({ generatorKeyId: keyArn, ...(clientProvider ? { clientProvider } : {}) });
}
