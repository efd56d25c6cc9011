import { SignJWT } from 'jose';
import { DomainError } from '../errors';
import { createJwtVerifier } from './jwt-verifier';
import { Principal, Role } from './principal';

export interface TokenSettings {
  secret: string;
  audience: string;
  issuer: string;
}

const ALGORITHM = 'HS256';

/** Mints a bearer token for the local stack (`compliance-ops token`). */
export async function mintToken(
  settings: TokenSettings,
  claims: { role: Role; tenantId?: string; subject?: string },
  ttlSeconds = 12 * 3600,
): Promise<string> {
  if (claims.role === 'tenant-admin' && !claims.tenantId) {
    throw new DomainError('bad_input', 'tenant_required', 'a tenant-admin token needs --tenant <id>');
  }
  return new SignJWT({ role: claims.role, ...(claims.tenantId ? { tenant: claims.tenantId } : {}) })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(claims.subject ?? `local-${claims.role}`)
    .setAudience(settings.audience)
    .setIssuer(settings.issuer)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(settings.secret));
}

/** Verifies a local-stack (HS256) token; the API's guard uses `createJwtVerifier` with every configured key source. */
export async function verifyToken(settings: TokenSettings, token: string): Promise<Principal> {
  return createJwtVerifier({ hs256Secret: settings.secret, audience: settings.audience, issuer: settings.issuer })(token);
}
