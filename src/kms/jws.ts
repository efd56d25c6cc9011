import { createHash, createPublicKey, KeyObject, verify } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';

/**
 * JWS compact serialization (RFC 7515) with ES256, signed by an asymmetric
 * KMS key (ECC_NIST_P256). KMS signs a SHA-256 digest we compute (MessageType
 * DIGEST, so the input has no 4 KiB limit) and returns an ASN.1 DER ECDSA
 * signature; JWS wants the raw 64-byte r‖s (RFC 7518 §3.4).
 */

export interface JwsHeader {
  alg: 'ES256';
  typ: string;
  kid: string;
}

const b64u = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export async function signJws(kms: KMSClient, keyArn: string, typ: string, payload: unknown): Promise<string> {
  const header: JwsHeader = { alg: 'ES256', typ, kid: keyArn };
  const signingInput = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const { Signature } = await kms.send(
    new SignCommand({
      KeyId: keyArn,
      SigningAlgorithm: 'ECDSA_SHA_256',
      MessageType: 'DIGEST',
      Message: createHash('sha256').update(signingInput).digest(),
    }),
  );
  if (!Signature) throw new Error('KMS returned no signature');
  return `${signingInput}.${b64u(derToJoseSignature(Buffer.from(Signature)))}`;
}

/** ASN.1 `SEQUENCE { INTEGER r, INTEGER s }` → r‖s, each left-padded to `size` bytes. */
export function derToJoseSignature(der: Buffer, size = 32): Buffer {
  let offset = 0;
  const expect = (tag: number) => {
    if (der[offset++] !== tag) throw new Error('Malformed DER ECDSA signature');
  };
  const length = () => {
    let len = der[offset++];
    if (len & 0x80) {
      const bytes = len & 0x7f;
      len = 0;
      for (let i = 0; i < bytes; i++) len = (len << 8) | der[offset++];
    }
    return len;
  };
  expect(0x30);
  if (length() !== der.length - offset) throw new Error('Malformed DER ECDSA signature');
  const integer = () => {
    expect(0x02);
    const len = length();
    let value = der.subarray(offset, offset + len);
    offset += len;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new Error('Malformed DER ECDSA signature');
    return Buffer.concat([Buffer.alloc(size - value.length), value]);
  };
  const r = integer();
  const s = integer();
  if (offset !== der.length) throw new Error('Malformed DER ECDSA signature');
  return Buffer.concat([r, s]);
}

/** The key's public half (DER SPKI from GetPublicKey). */
export async function kmsPublicKey(kms: KMSClient, keyArn: string): Promise<KeyObject> {
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  if (!PublicKey) throw new Error(`KMS returned no public key for ${keyArn}`);
  return createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' });
}

export class JwsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwsError';
  }
}

/**
 * Verifies a compact JWS and returns its header and payload. `alg` and `typ`
 * are pinned: a verifier that lets the token choose its algorithm is the
 * classic JWS mistake.
 */
export function verifyJws<T>(jws: string, publicKey: KeyObject, typ: string): { header: JwsHeader; payload: T } {
  const parts = jws.trim().split('.');
  if (parts.length !== 3) throw new JwsError('not a compact JWS (expected three dot-separated parts)');
  const [h, p, s] = parts;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as JwsHeader;
  if (header.alg !== 'ES256') throw new JwsError(`unexpected JWS algorithm ${String(header.alg)}; only ES256 is accepted`);
  if (header.typ !== typ) throw new JwsError(`unexpected JWS type ${String(header.typ)}; expected ${typ}`);
  const signature = Buffer.from(s, 'base64url');
  const ok = signature.length === 64 && verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!ok) throw new JwsError('the signature does not verify against the public key');
  return { header, payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as T };
}
