import {
  createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, JWK, JWTPayload, jwtVerify, JWTVerifyGetKey,
} from 'jose';
import { DomainError } from '../errors';
import { Principal, Role, ROLES } from './principal';
import { ASYMMETRIC_ALGORITHMS } from './public-keys';

export interface JwtSettings {
  audience: string;
  issuer: string;
  /** HS256: the local stack's shared secret; undefined turns HS256 off */
  hs256Secret?: string;
  /** RS256/ES256 keys given as PEM (see public-keys.ts) */
  publicKeys?: JWK[];
  /** RS256/ES256 keys fetched (and cached) from an identity provider */
  jwksUrl?: string;
  /** where the role and the tenant sit in the token; identity providers name claims their own way */
  roleClaim?: string;
  tenantClaim?: string;
}

export type JwtVerifier = (token: string) => Promise<Principal>;

const invalid = () =>
  new DomainError('unauthorized', 'invalid_token', 'the bearer token is missing, expired or not valid for this service');

/** The identity provider did not answer: a retry may succeed, so it is not the caller's fault (503, not 401). */
class KeySourceUnavailable extends Error {}

/** Errors that mean "this token is bad", as opposed to "the key source is down". */
const TOKEN_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];

function remoteKeys(url: string): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (TOKEN_ERRORS.some((type) => error instanceof type)) throw error;
      throw new KeySourceUnavailable((error as Error).message);
    }
  };
}

/**
 * PEM keys carry no `kid`, while identity providers put one in every token:
 * match PEM keys on the algorithm alone (jose would otherwise find no key).
 */
function pemKeys(keys: JWK[]): JWTVerifyGetKey {
  const set = createLocalJWKSet({ keys });
  return (header, token) => set({ alg: header.alg }, token);
}

/**
 * Verifies a bearer JWT against every configured key source. The algorithm in
 * the header only picks the source; the source then insists on that algorithm,
 * so `alg: none`, an HS256 token "signed" with a public key, or an algorithm
 * no source offers all fail. Signature, audience, issuer and expiry failures
 * are the same 401 without detail.
 */
export function createJwtVerifier(settings: JwtSettings): JwtVerifier {
  const secret = settings.hs256Secret ? new TextEncoder().encode(settings.hs256Secret) : undefined;
  const local = settings.publicKeys?.length ? pemKeys(settings.publicKeys) : undefined;
  const remote = settings.jwksUrl ? remoteKeys(settings.jwksUrl) : undefined;
  const algorithms = [...(secret ? ['HS256'] : []), ...(local || remote ? ASYMMETRIC_ALGORITHMS : [])];
  const options = { algorithms, audience: settings.audience, issuer: settings.issuer, requiredClaims: ['exp', 'sub'] };
  const roleClaim = settings.roleClaim ?? 'role';
  const tenantClaim = settings.tenantClaim ?? 'tenant';

  async function verifyWith(token: string, getKey: JWTVerifyGetKey): Promise<JWTPayload> {
    try {
      return (await jwtVerify(token, getKey, options)).payload;
    } catch (error) {
      // Several PEM keys of one algorithm and no kid to choose: try each (jose leaves this to the caller).
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      for await (const key of error) {
        try {
          return (await jwtVerify(token, key, options)).payload;
        } catch {
          // the next key may be the one
        }
      }
      throw error;
    }
  }

  async function verifyPayload(token: string): Promise<JWTPayload> {
    const { alg } = decodeProtectedHeader(token);
    if (alg === 'HS256' && secret) return (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
    if (!ASYMMETRIC_ALGORITHMS.includes(alg as (typeof ASYMMETRIC_ALGORITHMS)[number])) throw invalid();
    if (local) {
      try {
        return await verifyWith(token, local);
      } catch (error) {
        // A key rotated at the identity provider may not be in the PEM list yet.
        if (!remote || !(error instanceof errors.JWKSNoMatchingKey)) throw error;
      }
    }
    if (remote) return verifyWith(token, remote);
    throw invalid();
  }

  return async (token) => {
    let payload: JWTPayload;
    try {
      payload = await verifyPayload(token);
    } catch (error) {
      if (error instanceof KeySourceUnavailable) {
        throw new DomainError('unavailable', 'auth_unavailable', 'the identity provider\'s keys could not be fetched; retry shortly');
      }
      throw invalid();
    }
    const role = payload[roleClaim] as Role;
    if (!ROLES.includes(role)) throw invalid();
    const tenantId = typeof payload[tenantClaim] === 'string' ? (payload[tenantClaim] as string) : undefined;
    if (role === 'tenant-admin' && !tenantId) throw invalid();
    return { subject: String(payload.sub), role, ...(role === 'tenant-admin' ? { tenantId } : {}) };
  };
}
