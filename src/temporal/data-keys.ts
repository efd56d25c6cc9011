import { createHash, createSecretKey, KeyObject } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DomainError } from '../errors';

/**
 * Glossary of payload encryption.
 * - data key: a random AES-256 key KMS generates under the payload key; the
 *   process encrypts payloads with it and never sees the KMS key itself.
 * - encrypted data key: the data key as KMS wrapped it; travels with every
 *   payload, so any process allowed to call KMS Decrypt can read the payload.
 * - key id: a digest of the encrypted data key; names the data key in payload
 *   metadata and in the decryption cache.
 */

/**
 * KMS binds this to every data key it wraps: a data key made for Temporal
 * payloads cannot be unwrapped as an export's (whose context names a tenant
 * and a request), nor the other way round, even under the same KMS key.
 */
export const PAYLOAD_KEY_CONTEXT = { purpose: 'temporal-payloads' } as const;

export interface DataKey {
  id: string;
  key: KeyObject;
  encrypted: Uint8Array;
}

export interface DataKeyOptions {
  /** a new data key after this long, so one key never protects an unbounded amount of history */
  maxAgeMs?: number;
  /** data keys of other processes (or earlier keys of this one) kept unwrapped */
  decryptCacheSize?: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The key id of an encrypted data key: hex SHA-256, shortened (it names, it does not protect). */
export function dataKeyId(encrypted: Uint8Array): string {
  return createHash('sha256').update(encrypted).digest('hex').slice(0, 32);
}

/** Copies KMS key material into a KeyObject and wipes the buffer KMS returned: no raw key lingers on the heap. */
function secretKey(plaintext: Uint8Array): KeyObject {
  const key = createSecretKey(plaintext);
  plaintext.fill(0);
  return key;
}

/**
 * Data keys for payload encryption: one generated per process (and per
 * `maxAgeMs`), and a small cache of the ones other processes made, unwrapped
 * through KMS the first time a payload names them.
 */
export class KmsDataKeys {
  private current?: { key: Promise<DataKey>; createdAt: number };
  /** insertion-ordered: the oldest entry goes first when full */
  private readonly unwrapped = new Map<string, Promise<KeyObject>>();
  private readonly maxAgeMs: number;
  private readonly decryptCacheSize: number;

  constructor(private readonly kms: KMSClient, private readonly keyArn: string, options: DataKeyOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? DAY_MS;
    this.decryptCacheSize = options.decryptCacheSize ?? 64;
  }

  /** The data key new payloads are encrypted with; concurrent first callers share one KMS call. */
  encryptionKey(now = Date.now()): Promise<DataKey> {
    if (!this.current || now - this.current.createdAt >= this.maxAgeMs) {
      const key = this.generate();
      const entry = { key, createdAt: now };
      this.current = entry;
      // A failed KMS call is not cached: the next payload asks again.
      key.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current.key;
  }

  /** The data key an encrypted payload names; unwrapped by KMS once, then cached. */
  decryptionKey(encrypted: Uint8Array): Promise<KeyObject> {
    const id = dataKeyId(encrypted);
    const cached = this.unwrapped.get(id);
    if (cached) return cached;
    const key = this.unwrap(encrypted);
    this.remember(id, key);
    key.catch(() => this.unwrapped.delete(id));
    return key;
  }

  private async generate(): Promise<DataKey> {
    const out = await kmsCall(() => this.kms.send(new GenerateDataKeyCommand({
      KeyId: this.keyArn, KeySpec: 'AES_256', EncryptionContext: { ...PAYLOAD_KEY_CONTEXT },
    })));
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey answered without a key');
    const id = dataKeyId(out.CiphertextBlob);
    const key = secretKey(out.Plaintext);
    // Our own payloads come back to this process (activity results, queries): no KMS call for those.
    this.remember(id, Promise.resolve(key));
    return { id, key, encrypted: out.CiphertextBlob };
  }

  private async unwrap(encrypted: Uint8Array): Promise<KeyObject> {
    // KeyId pinned: a payload can only name data keys of our own KMS key, never one an attacker wrapped under theirs.
    // Rotate with KMS automatic rotation (same ARN); a new ARN leaves older histories unreadable.
    const out = await kmsCall(() => this.kms.send(new DecryptCommand({
      KeyId: this.keyArn, CiphertextBlob: encrypted, EncryptionContext: { ...PAYLOAD_KEY_CONTEXT },
    })));
    if (!out.Plaintext) throw new Error('KMS Decrypt answered without a key');
    return secretKey(out.Plaintext);
  }

  private remember(id: string, key: Promise<KeyObject>): void {
    this.unwrapped.delete(id);
    this.unwrapped.set(id, key);
    while (this.unwrapped.size > this.decryptCacheSize) this.unwrapped.delete(this.unwrapped.keys().next().value!);
  }
}

/**
 * KMS unreachable (connection refused, timeout) is a dependency outage the
 * caller may retry: a 503, not a 500. KMS answering with an error (access
 * denied, wrong key) stays as it is, because retrying will not help.
 */
async function kmsCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    throw new DomainError('unavailable', 'kms_unavailable', 'KMS is not reachable, so the request could not be encrypted; try again shortly');
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function isUnreachable(error: unknown): boolean {
  const { code, name } = error as { code?: string; name?: string };
  return NETWORK_CODES.has(code ?? '') || name === 'TimeoutError';
}
