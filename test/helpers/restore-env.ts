import { randomBytes } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Client, Pool } from 'pg';
import { Config, loadConfig } from '../../src/config';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { seedDemo, TenantSummary } from '../../src/demo/generator';
import { kmsKeyring } from '../../src/kms/keyring';
import { createKmsClient } from '../../src/kms/kms';
import { WalArchiver } from '../../src/restore/archiver';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { createScratchDatabase, ScratchDatabase } from './db';

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
  close(): Promise<void>;
}

/**
 * `seed` decides the tenant ids: give each test file its own, because S3
 * prefixes are per tenant and files run in parallel against one bucket.
 */
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
  const archiver = new WalArchiver(
    {
      replicationUrl: app.adminUrl, catalogPool, s3, bucket: config.S3_EXPORT_BUCKET, sseKmsKeyId: config.S3_SSE_KMS_KEY_ID,
      keyring: kmsKeyring(config, config.KMS_EXPORT_KEY_ARN), loadDataMap: async () => map,
    },
    { slot, publication: slot },
  );
  return {
    app, catalog, admin, appPool, catalogPool, config, s3, kms, map, tenants, archiver, slot,
    async close() {
      // A leftover slot pins WAL on the shared test server: drop it first, whatever else fails.
      await archiver.drop().catch(() => undefined);
      for (const t of [...tenants.map((x) => x.id), '*']) {
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
