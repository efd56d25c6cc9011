import { jwtVerify, SignJWT } from 'jose';
import { DomainError } from '../errors';
import { Principal, Role, ROLES } from './principal';

export interface TokenSettings {
  secret: string;
  audience: string;
  issuer: string;
}

const ALGORITHM = 'HS256';

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

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
    .sign(key(settings.secret));
}

/**
 * Verifies signature, algorithm (so `alg: none` and algorithm swaps fail),
 * audience, issuer and expiry; any failure is the same 401 without detail.
 */
export async function verifyToken(settings: TokenSettings, token: string): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key(settings.secret), {
      algorithms: [ALGORITHM],
      audience: settings.audience,
      issuer: settings.issuer,
      requiredClaims: ['exp', 'sub'],
    });
    const role = payload.role as Role;
    if (!ROLES.includes(role)) throw new Error('unknown role');
    const tenantId = typeof payload.tenant === 'string' ? payload.tenant : undefined;
    if (role === 'tenant-admin' && !tenantId) throw new Error('tenant-admin without tenant');
    return { subject: String(payload.sub), role, tenantId };
  } catch {
    throw new DomainError('unauthorized', 'invalid_token', 'the bearer token is missing, expired or not valid for this service');
  }
}
