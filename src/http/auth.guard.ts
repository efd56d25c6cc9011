import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ApiKeysRepository, isApiKey } from '../auth/api-keys';
import { createJwtVerifier, JwtVerifier } from '../auth/jwt-verifier';
import { Principal, Role } from '../auth/principal';
import { publicKeysFromPem } from '../auth/public-keys';
import { Config } from '../config';
import { CatalogDatabase } from '../db/databases';
import { DomainError } from '../errors';
import { annotateLog } from '../logger';
import { ALLOWED_ROLES, PUBLIC_ROUTE } from './access';
import { CatalogRateLimiter } from './catalog-rate-limit';

export type AuthenticatedRequest = Request & { principal?: Principal };

const invalidCredential = () =>
  new DomainError('unauthorized', 'invalid_token', 'the bearer token is missing, expired or not valid for this service');

/**
 * The one global guard: every route needs a valid bearer credential (a JWT or
 * an API key) unless marked @Public(); then the per-credential rate limit, the
 * role, and for a tenant admin the `:tenantId` of the path.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly verifyJwt: JwtVerifier;
  private readonly apiKeys: ApiKeysRepository;
  private readonly limiter: CatalogRateLimiter;

  constructor(private readonly reflector: Reflector, config: Config, catalog: CatalogDatabase) {
    this.verifyJwt = createJwtVerifier({
      audience: config.JWT_AUDIENCE,
      issuer: config.JWT_ISSUER,
      hs256Secret: config.JWT_ACCEPT_HS256 ? config.JWT_SECRET : undefined,
      publicKeys: config.JWT_PUBLIC_KEYS ? publicKeysFromPem(config.JWT_PUBLIC_KEYS) : undefined,
      jwksUrl: config.JWT_JWKS_URL,
      roleClaim: config.JWT_ROLE_CLAIM,
      tenantClaim: config.JWT_TENANT_CLAIM,
    });
    this.apiKeys = new ApiKeysRepository(catalog.pool);
    this.limiter = new CatalogRateLimiter(catalog.pool, config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const rawTenant: unknown = request.params?.tenantId;
    const pathTenant = typeof rawTenant === 'string' ? rawTenant : undefined;
    if (pathTenant !== undefined) annotateLog({ tenantId: pathTenant });
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const header = request.headers.authorization ?? '';
    const credential = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!credential) throw new DomainError('unauthorized', 'missing_token', 'send `Authorization: Bearer <token>`');
    const principal = isApiKey(credential) ? await this.apiKeys.principalFor(credential) : await this.verifyJwt(credential);
    if (!principal) throw invalidCredential();
    request.principal = principal;
    await this.limit(credential, context.switchToHttp().getResponse<Response>());

    const allowed = this.reflector.getAllAndOverride<Role[]>(ALLOWED_ROLES, targets) ?? ['operator'];
    if (!allowed.includes(principal.role)) {
      throw new DomainError('forbidden', 'forbidden_role', `the ${principal.role} role may not call this route`);
    }
    if (principal.role === 'tenant-admin' && pathTenant !== undefined && pathTenant !== principal.tenantId) {
      // Same answer as for a tenant that does not exist: reveal nothing about other tenants.
      throw new DomainError('not_found', 'tenant_not_found', 'no such tenant');
    }
    return true;
  }

  /** Only verified credentials get a bucket, shared by every API replica and named by the credential's hash. */
  private async limit(credential: string, response: Response): Promise<void> {
    const verdict = await this.limiter.take(credential);
    if (verdict.allowed) return;
    response.setHeader('Retry-After', String(verdict.retryAfterSeconds));
    throw new DomainError('rate_limited', 'rate_limited', `too many requests with this credential; retry in ${verdict.retryAfterSeconds} s`,
      { retryAfterSeconds: verdict.retryAfterSeconds });
  }
}
