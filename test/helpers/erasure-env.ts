import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { seedDemo, TenantSummary } from '../../src/demo/generator';
import { RequestsRepository } from '../../src/requests/requests.repository';
import { createScratchDatabase, ScratchDatabase } from './db';

/**
 * What the erasure engine's tests stand on: a seeded demo database reached as
 * the service role (RLS applies), a migrated catalog, a superuser client to
 * check outcomes with, and the demo data map.
 */
export interface ErasureTestEnv {
  app: ScratchDatabase;
  catalogDb: ScratchDatabase;
  tenants: TenantSummary[];
  admin: Client;
  appPool: Pool;
  catalogPool: Pool;
  map: DataMap;
  /** a catalog request row for a purge to hang its counts on */
  newRequest(tenantId: string, kind?: 'erasure' | 'retention'): Promise<string>;
  /** row count and md5 of every row of `table` matching `where`: equal digests, byte-identical rows */
  digest(table: string, where: string, params?: unknown[]): Promise<string>;
  close(): Promise<void>;
}

export async function openErasureTestEnv(prefix: string, seed: number): Promise<ErasureTestEnv> {
  const [app, catalogDb] = await Promise.all([createScratchDatabase(prefix), createScratchDatabase(`${prefix}_catalog`)]);
  const { tenants } = await seedDemo(app.adminUrl, { seed, tenants: 4, rowsPerTenant: 1200 });
  await migrate(catalogDb.adminUrl);
  const admin = new Client({ connectionString: app.adminUrl });
  await admin.connect();
  const appPool = createPool(app.serviceUrl, 4);
  const catalogPool = createPool(catalogDb.adminUrl, 2);
  const map = await discoverDataMap(appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  return {
    app, catalogDb, tenants, admin, appPool, catalogPool, map,
    async newRequest(tenantId, kind = 'erasure') {
      const id = randomUUID();
      await new RequestsRepository(catalogPool).create({
        id, kind, tenantId, params: { subjectHash: id }, workflowId: `${kind}:${tenantId}:${id}`, requestedBy: 'test',
      });
      return id;
    },
    async digest(table, where, params = []) {
      const { rows } = await admin.query(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 FROM ${table} AS t WHERE ${where}`, params);
      return `${rows[0].n}:${rows[0].md5}`;
    },
    async close() {
      await appPool.end();
      await catalogPool.end();
      await admin.end();
      await Promise.all([app.drop(), catalogDb.drop()]);
    },
  };
}
