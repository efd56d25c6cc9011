import { createHash, KeyObject, sign } from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { kmsPublicKey } from './jws';

/**
 * An ECDSA P-256 / SHA-256 signing key as the receipts and the transparency
 * log see it: sign a message, get an ASN.1 DER signature. KMS in the service;
 * a local private key in tests and offline tools, with the same output.
 */
export interface EcdsaSigner {
  /** DER `SEQUENCE { r, s }` over SHA-256(message) */
  sign(message: Uint8Array): Promise<Buffer>;
  publicKey(): Promise<KeyObject>;
}

/**
 * KMS signs a digest we compute (`MessageType: 'DIGEST'`): RAW messages are
 * limited to 4096 bytes, and the digest keeps the message itself out of KMS
 * and CloudTrail.
 */
export function kmsEcdsaSigner(kms: KMSClient, keyArn: string): EcdsaSigner {
  let publicKey: Promise<KeyObject> | undefined;
  return {
    async sign(message) {
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: keyArn,
          SigningAlgorithm: 'ECDSA_SHA_256',
          MessageType: 'DIGEST',
          Message: createHash('sha256').update(message).digest(),
        }),
      );
      if (!Signature) throw new Error(`KMS returned no signature for ${keyArn}`);
      return Buffer.from(Signature);
    },
    publicKey() {
      // The public half never changes for a key ARN: ask KMS once per process.
      publicKey ??= kmsPublicKey(kms, keyArn).catch((error: unknown) => {
        publicKey = undefined;
        throw error;
      });
      return publicKey;
    },
  };
}

/** A local P-256 private key with the same contract (tests, offline tooling). */
export function localEcdsaSigner(privateKey: KeyObject, publicKey: KeyObject): EcdsaSigner {
  return {
    sign: async (message) => sign('sha256', message, { key: privateKey, dsaEncoding: 'der' }),
    publicKey: async () => publicKey,
  };
}

/**
 * JOSE r‖s (RFC 7518 §3.4) → ASN.1 DER, the inverse of `derToJoseSignature`
 * in ./jws: what openssl and the C2SP ECDSA note signatures expect.
 */
export function joseToDerSignature(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error('an r‖s signature has two halves of equal length');
  const half = raw.length / 2;
  const integer = (bytes: Buffer) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let value = bytes.subarray(start);
    // DER integers are signed: a leading 1 bit needs a 0x00 in front.
    if (value[0] & 0x80) value = Buffer.concat([Buffer.from([0]), value]);
    return Buffer.concat([Buffer.from([0x02]), derLength(value.length), value]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}
