import { createHash, createPublicKey, KeyObject } from 'node:crypto';

/**
 * The two public keys an auditor needs, in the forms their tools take: a JWK
 * (JOSE libraries) named by its RFC 7638 thumbprint, the DER SPKI (openssl),
 * and the C2SP signed-note key ID (checkpoint verifiers).
 */

/** Which log artefact a key signs; published so a verifier never accepts one key's signature for the other's job. */
export type KeyPurpose = 'receipts' | 'checkpoints';

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  use: 'sig';
  alg: 'ES256';
  /** not a registered JWK member: RFC 7517 §4 has verifiers ignore what they do not know */
  purpose?: KeyPurpose;
}

export interface Jwks {
  keys: PublicJwk[];
}

function ecCoordinates(key: KeyObject): { x: string; y: string } {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('receipts and checkpoints are signed with ECDSA P-256 keys only');
  }
  const { x, y } = key.export({ format: 'jwk' });
  if (!x || !y) throw new Error('the EC public key has no coordinates');
  return { x, y };
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint(key: KeyObject): string {
  const { x, y } = ecCoordinates(key);
  const members = JSON.stringify({ crv: 'P-256', kty: 'EC', x, y });
  return createHash('sha256').update(members).digest('base64url');
}

export function publicJwk(key: KeyObject, purpose?: KeyPurpose): PublicJwk {
  const { x, y } = ecCoordinates(key);
  return { kty: 'EC', crv: 'P-256', x, y, kid: jwkThumbprint(key), use: 'sig', alg: 'ES256', ...(purpose ? { purpose } : {}) };
}

export function keyFromJwk(jwk: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown }): KeyObject {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new Error('not an EC P-256 public JWK');
  }
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
}

export function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/**
 * C2SP signed-note key ID for signature type 0x02 (ECDSA, as in
 * transparency-dev/witness): the first four bytes of SHA-256 over the DER SPKI.
 */
export function noteKeyId(key: KeyObject): Buffer {
  return createHash('sha256').update(spkiDer(key)).digest().subarray(0, 4);
}

/**
 * The verifier key string Go's note verifiers take
 * (`<name>+<key id hex>+base64(0x02 ‖ SPKI)`, transparency-dev/formats).
 */
export function noteVerifierKey(name: string, key: KeyObject): string {
  const body = Buffer.concat([Buffer.from([0x02]), spkiDer(key)]).toString('base64');
  return `${name}+${noteKeyId(key).toString('hex')}+${body}`;
}
