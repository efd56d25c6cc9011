import { SetMetadata } from '@nestjs/common';
import { Role } from '../auth/principal';

export const PUBLIC_ROUTE = Symbol('public-route');
export const ALLOWED_ROLES = Symbol('allowed-roles');

/** No token needed: health, metrics, OpenAPI, JWKS. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/**
 * Roles that may call a route. Routes without it are operator-only: access is
 * denied by default. A tenant-admin is further fenced to the `:tenantId` in the path.
 */
export const Allow = (...roles: Role[]) => SetMetadata(ALLOWED_ROLES, roles);
