import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { stringify } from 'yaml';
import { Daemon, runningPid, startDaemon, tailOf, waitFor } from './process';

/** local-kms stores keys under their ARN, built from these two values. */
export const LOCAL_KMS_REGION = 'eu-west-2';
export const LOCAL_KMS_ACCOUNT = '111122223333';

export const KMS_ALIASES = {
  exports: 'alias/compliance-ops-exports',
  receipts: 'alias/compliance-ops-receipts',
  checkpoints: 'alias/compliance-ops-checkpoints',
} as const;

export interface LocalKeys {
  exportKeyArn: string;
  receiptKeyArn: string;
  checkpointKeyArn: string;
}

export function kmsDaemon(home: string): Daemon {
  const root = join(home, 'kms');
  return { name: 'local-kms', pidFile: join(root, 'pid'), logFile: join(root, 'local-kms.log') };
}

export function keyArn(keyId: string): string {
  return `arn:aws:kms:${LOCAL_KMS_REGION}:${LOCAL_KMS_ACCOUNT}:key/${keyId}`;
}

/**
 * The seed file: one AES key for export envelopes and two P-256 signing keys
 * (receipts, log checkpoints), made fresh for this stack so no private key is
 * ever committed. local-kms never overwrites a key that already exists.
 */
export function writeSeed(seedPath: string, ids: { exports: string; receipts: string; checkpoints: string }): void {
  const ecPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const seed = {
    Keys: {
      Symmetric: {
        Aes: [{ Metadata: { KeyId: ids.exports, Description: 'compliance-ops exports' }, BackingKeys: [randomBytes(32).toString('hex')] }],
      },
      Asymmetric: {
        Ecc: [
          { Metadata: { KeyId: ids.receipts, KeyUsage: 'SIGN_VERIFY', Description: 'compliance-ops receipts' }, PrivateKeyPem: ecPem() },
          { Metadata: { KeyId: ids.checkpoints, KeyUsage: 'SIGN_VERIFY', Description: 'compliance-ops log checkpoints' }, PrivateKeyPem: ecPem() },
        ],
      },
    },
    Aliases: [
      { AliasName: KMS_ALIASES.exports, TargetKeyId: ids.exports },
      { AliasName: KMS_ALIASES.receipts, TargetKeyId: ids.receipts },
      { AliasName: KMS_ALIASES.checkpoints, TargetKeyId: ids.checkpoints },
    ],
  };
  writeFileSync(seedPath, stringify(seed), { mode: 0o600 });
}

export function newKeyIds() {
  return { exports: randomUUID(), receipts: randomUUID(), checkpoints: randomUUID() };
}

export async function startKms(binary: string, home: string, port: number, keyIds: { exports: string; receipts: string; checkpoints: string }): Promise<void> {
  const daemon = kmsDaemon(home);
  if (runningPid(daemon) !== undefined) return;
  const root = join(home, 'kms');
  mkdirSync(join(root, 'data'), { recursive: true });
  const seedPath = join(root, 'seed.yaml');
  if (!existsSync(seedPath)) writeSeed(seedPath, keyIds);
  startDaemon(daemon, binary, [], {
    env: {
      ...process.env,
      PORT: String(port),
      KMS_REGION: LOCAL_KMS_REGION,
      KMS_ACCOUNT_ID: LOCAL_KMS_ACCOUNT,
      KMS_SEED_PATH: seedPath,
      KMS_DATA_PATH: join(root, 'data'),
    },
  });
  await waitFor('local-kms', () => kmsHealthy(`http://127.0.0.1:${port}`), 30_000,
    `See ${daemon.logFile}:\n${tailOf(daemon.logFile)}`);
}

/** Healthy means it answers and knows our aliases (the seed was applied). */
export async function kmsHealthy(endpoint: string): Promise<boolean> {
  const kms = new KMSClient({ endpoint, region: LOCAL_KMS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  try {
    const aliases = await kms.send(new ListAliasesCommand({}));
    const names = new Set((aliases.Aliases ?? []).map((a) => a.AliasName));
    return Object.values(KMS_ALIASES).every((alias) => names.has(alias));
  } catch {
    return false;
  } finally {
    kms.destroy();
  }
}
