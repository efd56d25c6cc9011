import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Principal, Role } from '../auth/principal';
import { verifyToken } from '../auth/tokens';
import { Config } from '../config';
import { DomainError } from '../errors';
import { ALLOWED_ROLES, PUBLIC_ROUTE } from './access';

export type AuthenticatedRequest = Request & { principal?: Principal };

/** The one global guard: every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector, private readonly config: Config) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) throw new DomainError('unauthorized', 'missing_token', 'send `Authorization: Bearer <token>`');
    const principal = await verifyToken(
      { secret: this.config.JWT_SECRET, audience: this.config.JWT_AUDIENCE, issuer: this.config.JWT_ISSUER },
      token,
    );
    request.principal = principal;
    const allowed = this.reflector.getAllAndOverride<Role[]>(ALLOWED_ROLES, targets) ?? ['operator'];
    if (!allowed.includes(principal.role)) {
      throw new DomainError('forbidden', 'forbidden_role', `the ${principal.role} role may not call this route`);
    }
    const pathTenant = request.params?.tenantId;
    if (principal.role === 'tenant-admin' && pathTenant !== undefined && pathTenant !== principal.tenantId) {
      // Same answer as for a tenant that does not exist: reveal nothing about other tenants.
      throw new DomainError('not_found', 'tenant_not_found', 'no such tenant');
    }
    return true;
  }
}
