import { createCipheriv, createDecipheriv, KeyObject, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { dataKeyId, KmsDataKeys } from './data-keys';

/** Temporal's UI and CLI show payloads of an unknown `binary/…` encoding as opaque bytes. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

export class PayloadDecryptionError extends Error {
  constructor(reason: string) {
    super(`a Temporal payload could not be decrypted: ${reason}`);
    this.name = 'PayloadDecryptionError';
  }
}

/**
 * Encrypts every Temporal payload (workflow and activity inputs and results,
 * heartbeats, signals, memos, encoded failure messages) so a data subject's
 * identifier never sits in clear in Temporal's history. The whole original
 * payload, metadata included, is serialised and sealed with AES-256-GCM under
 * a KMS data key; the wrapped data key travels in the metadata, so any
 * process with KMS Decrypt on the key can read it back.
 *
 * Payloads that are not encrypted (history written before this codec) pass
 * through decode unchanged; tampered ones fail loudly.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: KmsDataKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const dataKey = await this.keys.encryptionKey();
    return payloads.map((payload) => ({
      metadata: {
        encoding: utf8(ENCRYPTED_ENCODING),
        'encryption-cipher': utf8(CIPHER),
        'encryption-key-id': utf8(dataKey.id),
        'encryption-data-key': dataKey.encrypted,
      },
      data: seal(dataKey.key, dataKey.id, temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((payload) => this.decodeOne(payload)));
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    const metadata = payload.metadata ?? {};
    if (text(metadata.encoding) !== ENCRYPTED_ENCODING) return payload;
    if (text(metadata['encryption-cipher']) !== CIPHER) throw new PayloadDecryptionError(`unknown cipher ${text(metadata['encryption-cipher'])}`);
    const encryptedKey = metadata['encryption-data-key'];
    const keyId = text(metadata['encryption-key-id']);
    if (!encryptedKey || !payload.data) throw new PayloadDecryptionError('its data key or data is missing');
    // The id is bound into the ciphertext (AAD); it must also name the data key that came with it.
    if (keyId !== dataKeyId(encryptedKey)) throw new PayloadDecryptionError('its key id does not match its data key');
    const key = await this.keys.decryptionKey(encryptedKey);
    return temporal.api.common.v1.Payload.decode(open(key, keyId, payload.data));
  }
}

/** iv ‖ ciphertext ‖ tag; the key id is authenticated data, so a payload cannot be moved under another key's name. */
function seal(key: KeyObject, keyId: string, plaintext: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(utf8(keyId));
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: KeyObject, keyId: string, sealed: Uint8Array): Uint8Array {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('it is too short');
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(utf8(keyId));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new PayloadDecryptionError('it was altered, or sealed under another key');
  }
}
