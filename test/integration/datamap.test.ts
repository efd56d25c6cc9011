import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Config, PROJECT_ROOT } from '../../src/config';
import { AppDatabase } from '../../src/db/databases';
import { datamapCommand } from '../../src/datamap/datamap.command';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DatamapService } from '../../src/datamap/datamap.service';
import { DataMap, TableEntry } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { createScratchDatabase, ScratchDatabase } from '../helpers/db';

const DEMO_SCHEMA = join(PROJECT_ROOT, 'sql', 'demo', 'schema.sql');
const ORGS_FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'orgs.sql');
const ORGS_CONFIG = join(PROJECT_ROOT, 'test', 'fixtures', 'datamap-orgs.yaml');

/** A scratch database loaded with `sqlFile` as superuser, and a pool of the service role, which owns nothing. */
async function scratchWith(prefix: string, sqlFile: string, ...adminSql: string[]) {
  const db = await createScratchDatabase(prefix);
  const admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    for (const sql of [readFileSync(sqlFile, 'utf8'), ...adminSql]) await admin.query(sql);
  } finally {
    await admin.end();
  }
  return { db, pool: new Pool({ connectionString: db.serviceUrl, max: 2 }) };
}

const table = (map: DataMap, name: string): TableEntry => map.tables.find((t) => t.name === name)!;

/** Every FK among the mapped tables goes from an earlier to a later table in the delete order. */
function expectChildrenBeforeParents(map: DataMap) {
  const position = new Map(map.deleteOrder.map((t, i) => [t.name, i]));
  for (const t of map.tables.filter((t) => t.kind !== 'global')) {
    for (const fk of t.foreignKeys.filter((fk) => fk.to.name !== t.name && position.has(fk.to.name))) {
      expect(position.get(t.name), `${t.name} before ${fk.to.name}`).toBeLessThan(position.get(fk.to.name)!);
    }
  }
}

describe('data map of the demo schema, discovered as the service role', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let map: DataMap;

  beforeAll(async () => {
    ({ db, pool } = await scratchWith('datamap_demo', DEMO_SCHEMA));
    map = await discoverDataMap(pool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('finds every tenant table with its primary key and erasure action', () => {
    expect(map.tenantTable).toEqual({ schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' });
    const tenantTables = map.tables.filter((t) => t.kind === 'tenant');
    expect(tenantTables.map((t) => t.name).sort()).toEqual(['audit_events', 'comments', 'documents', 'invoices', 'projects', 'users']);
    for (const t of tenantTables) {
      expect(t.primaryKey, t.name).toEqual(['tenant_id', 'id']);
      expect(t.erasure?.action, t.name).toBe(t.name === 'invoices' ? 'anonymize' : 'delete');
      expect([t.rlsEnabled, t.hasTenantPolicy, t.hasTenantIndex], t.name).toEqual([true, true, true]);
    }
  });

  it('keeps plans global and anonymizes invoices as the demo file says', () => {
    expect(table(map, 'plans')).toMatchObject({ kind: 'global', erasure: null, subjectColumns: [] });
    expect(table(map, 'invoices').erasure).toEqual({
      action: 'anonymize',
      columns: { billed_user_id: 'null', billing_name: 'redact', billing_email: 'hash', billing_address: 'redact' },
    });
    expect(table(map, 'audit_events').retention).toEqual({ ageColumn: 'occurred_at', maxAgeDays: 365 });
  });

  it('finds the subject columns through the foreign keys to users', () => {
    expect(map.subject).toEqual({ table: { schema: 'public', name: 'users' }, identityColumns: ['id', 'email'] });
    expect(Object.fromEntries(map.tables.map((t) => [t.name, t.subjectColumns]))).toMatchObject({
      users: ['id', 'email'], projects: ['owner_id'], documents: ['author_id'], comments: ['author_id'],
      invoices: ['billed_user_id'], audit_events: ['actor_id'], tenants: [],
    });
  });

  it('deletes children before parents, the tenants row last', () => {
    expect(map.deleteOrder.map((t) => t.name)).toEqual(['audit_events', 'comments', 'documents', 'invoices', 'projects', 'users', 'tenants']);
    expectChildrenBeforeParents(map);
  });

  it('has no lint worse than the TOAST warnings', () => {
    expect(map.lints.filter((l) => l.code !== 'replica-identity-toast')).toEqual([]);
    expect(table(map, 'documents').columns.find((c) => c.name === 'body')?.toastable).toBe(true);
    expect(table(map, 'invoices').columns.find((c) => c.name === 'currency')?.toastable).toBe(false);
  });
});

describe('data map of the orgs fixture (org_id bigint, one flaw per table)', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let map: DataMap;

  beforeAll(async () => {
    // The service role loses every privilege on countries: discovery must still see it (pg_catalog, not information_schema).
    ({ db, pool } = await scratchWith('datamap_orgs', ORGS_FIXTURE, 'REVOKE ALL ON countries FROM compliance_ops', 'ANALYZE'));
    map = await discoverDataMap(pool, { tenantColumn: 'org_id' });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('maps org_id to the organizations table with a bigint key', () => {
    expect(map.tenantColumn).toBe('org_id');
    expect(map.tenantTable).toEqual({ schema: 'public', name: 'organizations', keyColumn: 'id', keyType: 'bigint' });
    expect(Object.fromEntries(map.tables.map((t) => [t.name, t.kind]))).toEqual({
      api_keys: 'tenant', countries: 'global', events: 'tenant', members: 'tenant', order_lines: 'child',
      orders: 'tenant', organizations: 'tenants', shipments: 'tenant',
    });
    expect(table(map, 'organizations').estimatedRows).toBe(2);
  });

  it('reaches order_lines through its foreign key to orders', () => {
    expect(table(map, 'order_lines').joinPath).toEqual([{
      constraint: 'order_lines_order_id_fkey',
      from: { schema: 'public', name: 'order_lines' },
      to: { schema: 'public', name: 'orders' },
      columns: [{ from: 'order_id', to: 'id' }],
    }]);
    expectChildrenBeforeParents(map);
  });

  it('reports each flaw on its culprit', () => {
    const found = map.lints.filter((l) => l.code !== 'replica-identity-toast').map((l) => `${l.severity} ${l.code} ${l.table.name}`);
    expect(found.sort()).toEqual([
      'error cross-tenant-fk shipments',
      'error missing-rls api_keys',
      'error replica-identity-without-tenant events',
      'warning missing-tenant-index events',
      'warning not-pitr-capable order_lines',
    ]);
  });

  it('applies an override file written for this schema', async () => {
    const withConfig = await discoverDataMap(pool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(ORGS_CONFIG) });
    expect(withConfig.tenantColumn).toBe('org_id');
    expect(table(withConfig, 'orders').subjectColumns).toEqual(['member_id']);
    expect(table(withConfig, 'events').retention).toEqual({ ageColumn: 'occurred_at', maxAgeDays: 90 });
  });

  it('is cached by the service until refreshed', async () => {
    const config = { TENANT_COLUMN: 'org_id', DATABASE_URL: db.serviceUrl } as Config;
    const service = new DatamapService(new AppDatabase(pool), config);
    const first = await service.load();
    expect(await service.load()).toBe(first);
    const refreshed = await service.refresh();
    expect(refreshed).not.toBe(first);
    expect(refreshed).toEqual(first);
  });

  describe('compliance-ops datamap', () => {
    async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
      let stdout = '';
      let stderr = '';
      const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
      const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
      const previousExitCode = process.exitCode;
      try {
        await datamapCommand().parseAsync(['--database-url', db.serviceUrl, ...args], { from: 'user' });
        return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
      } finally {
        out.mockRestore();
        err.mockRestore();
        process.exitCode = previousExitCode;
      }
    }

    it('prints an aligned table and the lints by severity, and exits 0 despite them', async () => {
      const { stdout, exitCode } = await run('--tenant-column', 'org_id');
      expect(exitCode).toBe(0);
      expect(stdout).toMatch(/^tenant column org_id \(bigint\) · tenants table organizations\.id/);
      expect(stdout).toMatch(/\norder_lines +child +id +delete +- +3 +off +yes\n/);
      expect(stdout).toContain('\nerrors:\n  missing-rls  api_keys: ');
      expect(stdout.indexOf('errors:')).toBeLessThan(stdout.indexOf('warnings:'));
    });

    it('prints the data map as JSON', async () => {
      const { stdout } = await run('--json', '--config', ORGS_CONFIG);
      expect((JSON.parse(stdout) as DataMap).subject?.table.name).toBe('members');
    });

    it('exits 2 with the problem when the config file does not fit the database', async () => {
      const { stdout, stderr, exitCode } = await run('--config', DEMO_DATAMAP_CONFIG, '--tenant-column', 'org_id');
      expect(exitCode).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(`${DEMO_DATAMAP_CONFIG}:`);
      expect(stderr).toContain('subject.table: unknown table "users" in schema public');
    });
  });
});
