import { escapeIdentifier, escapeLiteral } from 'pg';
import { ForeignKey, TableRef, TenantKeyType } from './datamap.types';

/**
 * The SQL a lint message proposes. Every identifier goes through
 * escapeIdentifier and every literal through escapeLiteral, so a fix can be
 * pasted into psql as it is, whatever the table is called.
 */

/** The setting the application's RLS policies read and the service sets per transaction (src/db/pool.ts). */
export const TENANT_SETTING = 'app.current_tenant_id';

export function qualified(table: TableRef): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

function columnList(columns: string[]): string {
  return columns.map(escapeIdentifier).join(', ');
}

export function createIndex(table: TableRef, columns: string[], unique = false): string {
  const name = escapeIdentifier(`${table.name}_${columns.join('_')}_${unique ? 'key' : 'idx'}`);
  return `CREATE ${unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${name} ON ${qualified(table)} (${columnList(columns)});`;
}

/** The policy shape the demo uses: NULLIF because a finished set_config(…, true) reads '' rather than NULL. */
export function createTenantPolicy(table: TableRef, tenantColumn: string, keyType: TenantKeyType): string {
  const setting = `NULLIF(current_setting(${escapeLiteral(TENANT_SETTING)}, true), '')`;
  const value = keyType === 'text' ? setting : `${setting}::${keyType}`;
  return `CREATE POLICY tenant_isolation ON ${qualified(table)} USING (${escapeIdentifier(tenantColumn)} = ${value});`;
}

export function enableRowLevelSecurity(table: TableRef, tenantColumn: string, keyType: TenantKeyType): string {
  return `ALTER TABLE ${qualified(table)} ENABLE ROW LEVEL SECURITY;\n${createTenantPolicy(table, tenantColumn, keyType)}`;
}

/**
 * Replaces an FK by one that carries the tenant column on both sides. NOT
 * VALID first, so adding it takes no long lock; VALIDATE then fails if rows
 * already point into another tenant, which is what we want to know.
 */
export function tenantScopedForeignKey(fk: ForeignKey, tenantColumn: string): string {
  const constraint = escapeIdentifier(fk.constraint);
  const from = [tenantColumn, ...fk.columns.map((pair) => pair.from)];
  const to = [tenantColumn, ...fk.columns.map((pair) => pair.to)];
  return [
    `ALTER TABLE ${qualified(fk.from)} DROP CONSTRAINT ${constraint},`,
    `  ADD CONSTRAINT ${constraint} FOREIGN KEY (${columnList(from)}) REFERENCES ${qualified(fk.to)} (${columnList(to)}) NOT VALID;`,
    `ALTER TABLE ${qualified(fk.from)} VALIDATE CONSTRAINT ${constraint};`,
  ].join('\n');
}

/**
 * Adds the tenant column to a child table and fills it from the first hop of
 * its join path: from the parent's tenant column, or straight from the FK
 * when the parent is the tenants table.
 */
export function addTenantColumn(
  child: TableRef,
  hop: ForeignKey,
  tenantColumn: string,
  columnType: string,
  parentColumn: string,
): string {
  const column = escapeIdentifier(tenantColumn);
  const join = hop.columns.map((pair) => `c.${escapeIdentifier(pair.from)} = p.${escapeIdentifier(pair.to)}`).join(' AND ');
  return [
    `ALTER TABLE ${qualified(child)} ADD COLUMN ${column} ${columnType};`,
    `UPDATE ${qualified(child)} AS c SET ${column} = p.${escapeIdentifier(parentColumn)} FROM ${qualified(hop.to)} AS p WHERE ${join};`,
    `ALTER TABLE ${qualified(child)} ALTER COLUMN ${column} SET NOT NULL;`,
  ].join('\n');
}

export function replicaIdentityFull(table: TableRef): string {
  return `ALTER TABLE ${qualified(table)} REPLICA IDENTITY FULL;`;
}
