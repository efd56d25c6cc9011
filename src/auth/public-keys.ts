import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { JWK } from 'jose';

/** The asymmetric algorithms an identity provider may sign with; nothing else is ever accepted from it. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'] as const;

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g;

/** `JWT_PUBLIC_KEYS` holds PEM text, or the path of a file that does (PEM does not sit well in one env line). */
function pemText(setting: string): string {
  if (setting.includes('-----BEGIN')) return setting;
  if (!existsSync(setting)) throw new Error(`neither PEM text nor an existing file: ${setting.slice(0, 80)}`);
  return readFileSync(setting, 'utf8');
}

/**
 * Each PEM public key as a JWK pinned to the one algorithm its type allows:
 * RSA → RS256, P-256 → ES256. Pinning `alg` is what stops an RS256 key from
 * verifying anything else. No `kid`: the identity provider names its keys its
 * own way, so a token is tried against every key of its algorithm.
 */
export function publicKeysFromPem(setting: string): JWK[] {
  const blocks = pemText(setting).match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('no "-----BEGIN PUBLIC KEY-----" block found');
  return blocks.map((pem, index) => {
    const key = createPublicKey(pem);
    const jwk = key.export({ format: 'jwk' }) as JWK;
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) {
      return { ...jwk, alg: 'RS256', use: 'sig' };
    }
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      return { ...jwk, alg: 'ES256', use: 'sig' };
    }
    throw new Error(`key ${index + 1} is neither RSA (≥ 2048 bits, RS256) nor EC P-256 (ES256)`);
  });
}

/** For config validation: what is wrong with the setting, or undefined when it parses. */
export function publicKeyProblem(setting: string): string | undefined {
  try {
    publicKeysFromPem(setting);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
