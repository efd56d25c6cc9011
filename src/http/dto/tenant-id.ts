import { z } from 'zod';

/**
 * A tenant id in a query string, checked for format before it goes near SQL:
 * the widest of the key types a data map allows (text ids; uuid and bigint
 * ids fit it too). Path tenant ids are checked against the data map's exact type.
 */
export const TENANT_ID_PATTERN = '^[\\w.:@-]{1,128}$';
export const TenantIdQuery = z.string().regex(new RegExp(TENANT_ID_PATTERN), 'a tenant id: 1–128 letters, digits or `_ . : @ -`');
export const tenantIdQuerySchema = { type: 'string', pattern: TENANT_ID_PATTERN } as const;
