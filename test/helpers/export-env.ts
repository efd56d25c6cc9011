import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Client, Pool } from 'pg';
import { Config, loadConfig } from '../../src/config';
import { buildDataMap } from '../../src/datamap/build';
import { readCatalog } from '../../src/datamap/catalog';
import { DataMap } from '../../src/datamap/datamap.types';
import { createPool } from '../../src/db/pool';
import { seedDemo, TenantSummary } from '../../src/demo/generator';
import { DemoShape } from '../../src/demo/tenant-plan';
import { decryptExport, DecryptSummary } from '../../src/export/decrypt';
import { ExportResult } from '../../src/export/export.types';
import { ExpectedExport } from '../../src/export/read-manifest';
import { ExportDependencies } from '../../src/export/run-export';
import { createKmsClient } from '../../src/kms/kms';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { createScratchDatabase, ScratchDatabase } from './db';

/**
 * What the export engine's tests stand on: a seeded demo database reached as
 * the service role (RLS applies), a superuser client to write and check
 * with, the data map read from its catalog, S3, KMS, and a scratch folder
 * exports are decrypted into.
 */
export interface ExportTestEnv {
  db: ScratchDatabase;
  /** in the seed's order */
  tenants: TenantSummary[];
  admin: Client;
  appPool: Pool;
  config: Config;
  s3: S3Client;
  kms: KMSClient;
  map: DataMap;
  /** the four above as the export engine takes them */
  deps: ExportDependencies;
  work: string;
  /** Decrypts a finished export into `work/<name>`, checking it on the way. */
  decrypt(result: ExportResult, name: string, expected?: ExpectedExport): Promise<{ out: string; summary: DecryptSummary; manifest: Record<string, any> }>;
  /** Deletes the S3 `prefixes` this file wrote (other files may share the seed's tenant ids), then everything else. */
  close(prefixes: string[]): Promise<void>;
}

export async function openExportTestEnv(prefix: string, shape: DemoShape): Promise<ExportTestEnv> {
  const db = await createScratchDatabase(prefix);
  const { tenants } = await seedDemo(db.adminUrl, shape);
  const admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
  const appPool = createPool(db.serviceUrl, 8);
  const config = loadConfig();
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  const map = buildDataMap(await readCatalog(appPool, { schemas: ['public'], tenantSetting: 'app.current_tenant_id' }), { tenantColumn: 'tenant_id' });
  const work = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const deps: ExportDependencies = { config, appPool, s3, kms };
  return {
    db, tenants, admin, appPool, config, s3, kms, map, deps, work,
    async decrypt(result, name, expected) {
      const out = join(work, name);
      const summary = await decryptExport(`s3://${result.bucket}/${result.prefix}`, out, deps, expected);
      return { out, summary, manifest: JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) };
    },
    async close(prefixes) {
      for (const p of prefixes) await deletePrefix(s3, config.S3_EXPORT_BUCKET, p);
      await appPool.end();
      await admin.end();
      await db.drop();
      s3.destroy();
      kms.destroy();
      await rm(work, { recursive: true, force: true });
    },
  };
}
