import { escapeIdentifier, Pool } from 'pg';
import { DataMap, TenantKeyType } from '../datamap/datamap.types';
import { withTenantTransaction } from '../db/pool';
import { badInput, notFound } from '../errors';

const FORMATS: Record<TenantKeyType, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  bigint: /^(0|[1-9][0-9]{0,18})$/,
  text: /^[\w.:@-]{1,128}$/,
};

/** A tenant id from a path, checked against the type of the tenants table's key before it goes near SQL. */
export function parseTenantId(map: DataMap, raw: string): string {
  if (!FORMATS[map.tenantTable.keyType].test(raw)) {
    throw badInput('invalid_tenant_id', `a tenant id here is a ${map.tenantTable.keyType}; got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  return map.tenantTable.keyType === 'uuid' ? raw.toLowerCase() : raw;
}

/**
 * The tenant must exist in the application's tenants table; the lookup runs
 * fenced to that tenant like every other read of tenant data.
 */
export async function requireTenant(pool: Pool, map: DataMap, tenantId: string): Promise<void> {
  const table = `${escapeIdentifier(map.tenantTable.schema)}.${escapeIdentifier(map.tenantTable.name)}`;
  const key = escapeIdentifier(map.tenantTable.keyColumn);
  const found = await withTenantTransaction(pool, tenantId, (client) =>
    client.query(`SELECT 1 FROM ${table} WHERE ${key}::text = $1`, [tenantId]));
  if (found.rowCount === 0) throw notFound('tenant_not_found', 'no such tenant');
}
