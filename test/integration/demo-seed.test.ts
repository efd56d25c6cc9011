import { Client, escapeIdentifier, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, withTenantTransaction } from '../../src/db/pool';
import { seedDemo, SeedOptions, SeedResult } from '../../src/demo/generator';
import { DEMO_TABLES } from '../../src/demo/tenant-plan';
import { createScratchDatabase, ScratchDatabase } from '../helpers/db';

const options: SeedOptions = { seed: 7, tenants: 4, rowsPerTenant: 1_500 };
const TENANT_TABLES = DEMO_TABLES.filter((t) => t !== 'tenants');

async function query<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** One digest of every row of every demo table, in key order. */
async function tableDigests(url: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of DEMO_TABLES) {
    const order = table === 'tenants' ? 'id' : 'tenant_id, id';
    const t = escapeIdentifier(table);
    const [row] = await query<{ md5: string }>(url, `SELECT md5(string_agg(x::text, E'\\n' ORDER BY ${order})) AS md5 FROM ${t} x`);
    digests[table] = row.md5;
  }
  return digests;
}

describe('demo seed', () => {
  let first: ScratchDatabase;
  let second: ScratchDatabase;
  let result: SeedResult;
  let servicePool: Pool;

  beforeAll(async () => {
    [first, second] = await Promise.all([createScratchDatabase('demo_seed_a'), createScratchDatabase('demo_seed_b')]);
    result = await seedDemo(first.adminUrl, options);
    // One connection, so the unscoped queries run where a tenant transaction just ended.
    servicePool = createPool(first.serviceUrl, 1);
  });

  afterAll(async () => {
    await servicePool?.end();
    await Promise.all([first?.drop(), second?.drop()]);
  });

  it('loads exactly the rows its summary reports, per table and per tenant', async () => {
    for (const table of DEMO_TABLES) {
      const [{ count }] = await query<{ count: number }>(first.adminUrl, `SELECT count(*)::int AS count FROM ${escapeIdentifier(table)}`);
      expect(count, table).toBe(result.rowsByTable[table]);
    }
    expect(result.totalRows).toBe(Object.values(result.rowsByTable).reduce((a, b) => a + b, 0));
    const [{ count }] = await query<{ count: number }>(first.adminUrl, 'SELECT count(*)::int AS count FROM comments WHERE tenant_id = $1', [
      result.tenants[1].id,
    ]);
    expect(count).toBe(result.tenants[1].rowsByTable.comments);
  });

  it('lets the service role see only the current tenant, and nothing without one', async () => {
    const tenant = result.tenants[2];
    for (const table of TENANT_TABLES) {
      const sql = `SELECT count(*)::int AS count, count(DISTINCT tenant_id)::int AS tenants FROM ${escapeIdentifier(table)}`;
      const scoped = await withTenantTransaction(servicePool, tenant.id, async (c) => (await c.query(sql)).rows[0]);
      expect(scoped, table).toEqual({ count: tenant.rowsByTable[table], tenants: tenant.rowsByTable[table] > 0 ? 1 : 0 });
      // After a transaction-local setting the connection reads '' — the NULLIF in the policy keeps that safe.
      expect((await servicePool.query(sql)).rows[0], table).toEqual({ count: 0, tenants: 0 });
    }
    // Retention lists every tenant, so the service may read the tenants table whole.
    expect((await servicePool.query('SELECT count(*)::int AS n FROM tenants')).rows[0].n).toBe(options.tenants);
  });

  it('keeps every foreign key, validated, and refuses a reference into another tenant', async () => {
    const keys = await query<{ name: string; valid: boolean }>(
      first.adminUrl,
      `SELECT conname AS name, convalidated AS valid FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
    );
    expect(keys).toHaveLength(14);
    expect(keys.every((k) => k.valid)).toBe(true);
    const [a, b] = result.tenants;
    const crossTenant = query(
      first.adminUrl,
      `INSERT INTO comments (tenant_id, document_id, author_id, body)
       SELECT $1, d.id, u.id, 'x' FROM documents d, users u WHERE d.tenant_id = $2 AND u.tenant_id = $1 LIMIT 1`,
      [a.id, b.id],
    );
    await expect(crossTenant).rejects.toMatchObject({ code: '23503' });
  });

  it('stores long document bodies out of line in TOAST', async () => {
    const [row] = await query<{ long: number; toastBytes: string }>(
      first.adminUrl,
      `SELECT (SELECT count(*)::int FROM documents WHERE octet_length(body) > 8192) AS long,
              pg_relation_size(reltoastrelid) AS "toastBytes" FROM pg_class WHERE oid = 'documents'::regclass`,
    );
    expect(row.long).toBeGreaterThanOrEqual(options.tenants);
    expect(Number(row.toastBytes)).toBeGreaterThan(0);
  });

  it('advances identity sequences so the service can insert without ids', async () => {
    const tenant = result.tenants[0];
    const client = await servicePool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.current_tenant_id', $1, true)`, [tenant.id]);
      const { rows } = await client.query(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, 'new@x.example', 'New') RETURNING id`, [tenant.id]);
      expect(Number(rows[0].id)).toBe(result.rowsByTable.users + 1);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('loads identical bytes into a second database from the same seed', async () => {
    await seedDemo(second.adminUrl, options);
    expect(await tableDigests(second.adminUrl)).toEqual(await tableDigests(first.adminUrl));
  });

  it('refuses to seed on top of existing tenants unless asked to reset', async () => {
    await expect(seedDemo(second.adminUrl, options)).rejects.toThrow(/--reset/);
    const again = await seedDemo(second.adminUrl, { ...options, seed: 8, reset: true });
    expect(again.tenants[0].id).not.toBe(result.tenants[0].id);
  });
});
