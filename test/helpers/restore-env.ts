import { randomBytes, randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Pool, escapeIdentifier as q } from 'pg';
import { Config, loadConfig } from '../../src/config';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { seedDemo, TenantSummary } from '../../src/demo/generator';
import { kmsKeyring } from '../../src/kms/keyring';
import { createKmsClient } from '../../src/kms/kms';
import { ArchiveNames, WalArchiver } from '../../src/restore/archiver';
import { RestoreTarget } from '../../src/restore/restore-target';
import { dropStaging, RestoreDependencies, RestoreResult, runRestore } from '../../src/restore/run-restore';
import { restoredTables } from '../../src/restore/staging';
import { takeTenantSnapshot, TenantSnapshot } from '../../src/restore/tenant-snapshot';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { createScratchDatabase, ScratchDatabase } from './db';

/** A tenant's restored tables, each as its rows' text in key order. */
export type TenantContents = Record<string, string[]>;

/** A moment to restore to, and what the tenant held then. */
export interface Instant {
  lsn: string;
  time: string;
  contents: TenantContents;
}

/** Everything a restore test needs: a seeded app database, a migrated catalog, S3, KMS and an archiver on its own slot. */
export interface RestoreEnv {
  app: ScratchDatabase;
  catalog: ScratchDatabase;
  admin: Client;
  appPool: Pool;
  catalogPool: Pool;
  config: Config;
  s3: S3Client;
  kms: KMSClient;
  map: DataMap;
  tenants: TenantSummary[];
  archiver: WalArchiver;
  slot: string;
  /** what runRestore needs; subjects hash under `restoreDeps.subjectHashSecret` */
  restoreDeps: RestoreDependencies;
  snapshot(tenantId: string, map?: DataMap): Promise<TenantSnapshot>;
  /** a restore through runRestore (staging unless told), its schema dropped at close */
  restore(tenantId: string, target: RestoreTarget, options?: { mode?: 'staging' | 'in-place'; map?: DataMap }): Promise<RestoreResult>;
  /** live, or from a staging schema; `leaveOut` drops columns a test added on the way */
  contents(tenantId: string, schema?: string, leaveOut?: string[]): Promise<TenantContents>;
  instant(tenantId: string, leaveOut?: string[]): Promise<Instant>;
  close(): Promise<void>;
}

/** The archiver a test runs as the superuser (it owns the tables the publication names), writing where the service's would. */
export function testArchiver(replicationUrl: string, names: ArchiveNames, deps: { config: Config; catalogPool: Pool; s3: S3Client; map: DataMap }): WalArchiver {
  const { config, catalogPool, s3, map } = deps;
  return new WalArchiver({
    replicationUrl, catalogPool, s3, bucket: config.S3_EXPORT_BUCKET, sseKmsKeyId: config.S3_SSE_KMS_KEY_ID,
    keyring: kmsKeyring(config, config.KMS_EXPORT_KEY_ARN), loadDataMap: async () => map,
  }, names);
}

/** Every restored table's rows of one tenant as text, in key order: live, or from a staging schema. */
export async function tenantContents(admin: Client, map: DataMap, tenantId: string, schema?: string, leaveOut: string[] = []): Promise<TenantContents> {
  // Rows as JSON once columns are left out: a row's plain text has no names to leave them out by.
  const row = leaveOut.length > 0 ? '(to_jsonb(x) - $2::text[])::text' : 'x::text';
  const out: TenantContents = {};
  for (const t of restoredTables(map)) {
    const column = t.kind === 'tenants' ? 'id' : 'tenant_id';
    const { rows } = await admin.query<{ r: string }>(
      `SELECT ${row} AS r FROM ${q(schema ?? t.schema)}.${q(t.name)} x WHERE ${q(column)} = $1 ORDER BY ${t.primaryKey.map((c) => `x.${q(c)}`).join(', ')}`,
      leaveOut.length > 0 ? [tenantId, leaveOut] : [tenantId]);
    out[t.name] = rows.map((r) => r.r);
  }
  return out;
}

/**
 * `seed` decides the tenant ids: give each test file its own, because S3
 * prefixes are per tenant and files run in parallel against one bucket.
 */
/**
 * Deletes the table-wide (`*`) WAL segments this test's catalog indexed, and
 * only those: the `*` prefix is shared by every test database on the server,
 * so deleting the whole prefix would pull segments from under a test running
 * beside this one.
 */
export async function deleteTableWideSegments(catalogPool: Pool, s3: S3Client, bucket: string): Promise<void> {
  const { rows } = await catalogPool.query<{ object_key: string }>(`SELECT object_key FROM wal_segments WHERE tenant_id = '*'`);
  await Promise.all(rows.map((row) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row.object_key })).catch(() => undefined)));
}

export async function createRestoreEnv(name: string, seed: { seed: number; tenants: number; rowsPerTenant: number }): Promise<RestoreEnv> {
  const [app, catalog] = await Promise.all([createScratchDatabase(name), createScratchDatabase(`${name}_catalog`)]);
  const tenants = (await seedDemo(app.adminUrl, seed)).tenants;
  await migrate(catalog.adminUrl);
  const admin = new Client({ connectionString: app.adminUrl });
  await admin.connect();
  // Staging schemas live in the application database, created by the service role.
  await admin.query(`GRANT CREATE ON DATABASE ${app.name} TO compliance_ops`);
  const appPool = createPool(app.serviceUrl, 6);
  const catalogPool = createPool(catalog.adminUrl, 4);
  const config = loadConfig();
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  const map = await discoverDataMap(appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  const slot = `t_${name}_${randomBytes(4).toString('hex')}`;
  const archiver = testArchiver(app.adminUrl, { slot, publication: slot }, { config, catalogPool, s3, map });
  const restoreDeps: RestoreDependencies = { config, appPool, catalogPool, s3, kms, archiver, subjectHashSecret: 'a restore test secret of at least 32 bytes' };
  const stagingSchemas: string[] = [];
  const contents = (tenantId: string, schema?: string, leaveOut?: string[]) => tenantContents(admin, map, tenantId, schema, leaveOut);
  return {
    app, catalog, admin, appPool, catalogPool, config, s3, kms, map, tenants, archiver, slot, restoreDeps, contents,
    snapshot: (tenantId, snapshotMap = map) => takeTenantSnapshot({ config, appPool, s3, kms, catalogPool }, snapshotMap, tenantId),
    async restore(tenantId, target, { mode = 'staging', map: restoreMap = map } = {}) {
      const result = await runRestore(restoreDeps, restoreMap, { restoreId: randomUUID(), tenantId, target, mode });
      stagingSchemas.push(result.schema);
      return result;
    },
    async instant(tenantId, leaveOut) {
      const { rows } = await admin.query<{ lsn: string; time: string }>(
        `SELECT pg_current_wal_lsn()::text AS lsn, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time`);
      return { ...rows[0], contents: await contents(tenantId, undefined, leaveOut) };
    },
    async close() {
      // A leftover slot pins WAL on the shared test server: drop it first, whatever else fails.
      await archiver.drop().catch(() => undefined);
      for (const schema of stagingSchemas) await dropStaging(appPool, schema).catch(() => undefined);
      await deleteTableWideSegments(catalogPool, s3, config.S3_EXPORT_BUCKET).catch(() => undefined);
      for (const t of tenants.map((x) => x.id)) {
        await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${encodeURIComponent(t)}/wal/`).catch(() => undefined);
        await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${t}/exports/snapshot-`).catch(() => undefined);
        await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${encodeURIComponent(t)}/snapshots/`).catch(() => undefined);
      }
      await appPool.end();
      await catalogPool.end();
      await admin.end();
      s3.destroy();
      kms.destroy();
      await app.drop();
      await catalog.drop();
    },
  };
}
