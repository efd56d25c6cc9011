import { createHash } from 'node:crypto';
import { EcdsaSigner } from '../kms/ecdsa';
import { derToJoseSignature, JwsHeader } from '../kms/jws';
import { canonicalJson, canonicalJsonBytes } from './canonical-json';
import { Jwks, jwkThumbprint, KeyPurpose, publicJwk } from './keys';
import { Receipt, RECEIPT_JWS_TYPE } from './receipt.types';

/**
 * A receipt as a compact JWS (RFC 7515), ES256:
 *   BASE64URL(header) '.' BASE64URL(canonical JSON payload) '.' BASE64URL(r‖s)
 * The header is itself canonical JSON; the payload is RFC 8785 canonical, so
 * the payload bytes are a function of the receipt and a verifier can refuse
 * a payload that was re-serialised. `kid` is the RFC 7638 thumbprint of the
 * public key, stable across KMS aliases and ARNs and computable by anyone
 * holding the key.
 */
export async function signReceipt(receipt: Receipt, signer: EcdsaSigner): Promise<string> {
  const header: JwsHeader = { alg: 'ES256', kid: jwkThumbprint(await signer.publicKey()), typ: RECEIPT_JWS_TYPE };
  const signingInput = `${b64url(Buffer.from(canonicalJson(header)))}.${b64url(canonicalJsonBytes(receipt))}`;
  // KMS returns DER; JWS carries the fixed-width r‖s (RFC 7518 §3.4).
  const signature = derToJoseSignature(await signer.sign(Buffer.from(signingInput, 'ascii')));
  return `${signingInput}.${b64url(signature)}`;
}

/** What the next receipt names as its predecessor: SHA-256 over the JWS's ASCII bytes, hex. */
export function receiptDigest(jws: string): string {
  return createHash('sha256').update(jws, 'ascii').digest('hex');
}

/** The log leaf for a receipt: its compact JWS as ASCII bytes (see the glossary in receipt.types.ts). */
export function receiptLeaf(jws: string): Buffer {
  return Buffer.from(jws, 'ascii');
}

/** The payload of a JWS, decoded but not verified: for display only. */
export function decodeReceipt(jws: string): Receipt {
  return JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as Receipt;
}

/** The receipts and checkpoint keys as a JWKS (`/.well-known/jwks.json`, `keys/jwks.json`). */
export async function signersJwks(signers: Record<KeyPurpose, EcdsaSigner>): Promise<Jwks> {
  const keys = await Promise.all(
    (Object.entries(signers) as Array<[KeyPurpose, EcdsaSigner]>).map(async ([purpose, signer]) => publicJwk(await signer.publicKey(), purpose)),
  );
  return { keys };
}

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}
