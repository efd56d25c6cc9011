import { createPublicKey, KeyObject } from 'node:crypto';
import { jwkThumbprint, KeyPurpose, keyFromJwk } from '../keys';
import { readEvidenceFile, VerificationError } from './verification-error';

/**
 * The public keys a verifier trusts, given out of band: PEM files (one key,
 * e.g. from `aws kms get-public-key`), JWKS files, or a JWKS URL. Never the
 * key set inside the folder being verified — that would let the evidence
 * vouch for itself.
 */
export interface TrustedKey {
  /** RFC 7638 thumbprint: what a receipt's `kid` names */
  kid: string;
  key: KeyObject;
  /** from the JWKS; a PEM key may sign either kind */
  purpose?: KeyPurpose;
  source: string;
}

export async function loadTrustedKeys(sources: readonly string[]): Promise<TrustedKey[]> {
  if (sources.length === 0) throw new VerificationError('no public key given: pass --public-key <pem | jwks file | jwks URL>');
  const keys = (await Promise.all(sources.map(loadSource))).flat();
  if (keys.length === 0) throw new VerificationError(`no EC P-256 key in ${sources.join(', ')}`);
  return keys;
}

async function loadSource(source: string): Promise<TrustedKey[]> {
  const text = /^https?:\/\//.test(source) ? await fetchText(source) : await readEvidenceFile(source);
  if (text.includes('-----BEGIN PUBLIC KEY-----')) return [pemKey(text, source)];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VerificationError(`${source}: neither a PEM public key nor JSON (a JWKS or JWK)`);
  }
  const entries = Array.isArray((json as { keys?: unknown }).keys) ? (json as { keys: unknown[] }).keys : [json];
  return entries.flatMap((entry, i) => jwkKey(entry as Record<string, unknown>, `${source} key ${i}`));
}

function pemKey(pem: string, source: string): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new VerificationError(`${source}: not a readable PEM public key (${(error as Error).message})`);
  }
  return { kid: thumbprintOf(key, source), key, source };
}

/** Keys of other types are skipped (a JWKS may hold them); an EC key whose `kid` lies is an error. */
function jwkKey(jwk: Record<string, unknown>, source: string): TrustedKey[] {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') return [];
  let key: KeyObject;
  try {
    key = keyFromJwk(jwk);
  } catch (error) {
    throw new VerificationError(`${source}: not a valid EC P-256 JWK (${(error as Error).message})`);
  }
  const kid = thumbprintOf(key, source);
  if (jwk.kid !== undefined && jwk.kid !== kid) {
    throw new VerificationError(`${source}: kid ${String(jwk.kid)} is not the key's RFC 7638 thumbprint ${kid}`);
  }
  const purpose = jwk.purpose === 'receipts' || jwk.purpose === 'checkpoints' ? jwk.purpose : undefined;
  return [{ kid, key, source, ...(purpose ? { purpose } : {}) }];
}

function thumbprintOf(key: KeyObject, source: string): string {
  try {
    return jwkThumbprint(key);
  } catch (error) {
    throw new VerificationError(`${source}: ${(error as Error).message}`);
  }
}


async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((error: unknown) => {
    throw new VerificationError(`${url}: cannot fetch it (${(error as Error).message})`);
  });
  if (!response.ok) throw new VerificationError(`${url}: HTTP ${response.status}`);
  return response.text();
}
