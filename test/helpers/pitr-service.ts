import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client, Pool, escapeIdentifier as q } from 'pg';
import { Config, loadConfig } from '../../src/config';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { createPool } from '../../src/db/pool';
import { DemoShape } from '../../src/demo/tenant-plan';
import { createKmsClient } from '../../src/kms/kms';
import { snapshotsPrefixOfTenant, walPrefixOfTenant } from '../../src/restore/archive-layout';
import { ArchiveNames, WalArchiver } from '../../src/restore/archiver';
import { setupArchiveSource } from '../../src/restore/archiver.command';
import { walArchiverWorkflowId } from '../../src/restore/archiver-supervisor';
import { archiveNamesFor } from '../../src/restore/restore.activities';
import { RestoreDependencies } from '../../src/restore/run-restore';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { deleteTableWideSegments, tenantContents, TenantContents, testArchiver } from './restore-env';
import { startTestService, TestService } from './service';
import { startWorkerProcess, WorkerProcess } from './worker-process';

/**
 * A fenced service (own databases, own task queue, no in-process worker) set
 * up for point-in-time restore as a deployment would be: the archive source
 * installed once by the superuser (`compliance-ops archiver setup`), CREATE on
 * the database for staging schemas. Workers are child processes a test can
 * SIGKILL; `close` stops them, ends the archiver workflow and drops the slot
 * before the databases go.
 */
export interface PitrService {
  service: TestService;
  config: Config;
  admin: Client;
  appPool: Pool;
  catalogPool: Pool;
  s3: S3Client;
  kms: KMSClient;
  map: DataMap;
  names: ArchiveNames;
  /** the archiver a restore in this process drains with (the superuser's connection, the service's slot) */
  archiver: WalArchiver;
  restoreDeps: RestoreDependencies;
  workers: WorkerProcess[];
  startWorker(env?: Record<string, string>): WorkerProcess;
  /** every restored table's rows of one tenant as text, in key order: live, or from a staging schema */
  contents(tenantId: string, schema?: string): Promise<TenantContents>;
  archivedLsn(): Promise<string | undefined>;
  close(extraSlots?: string[]): Promise<void>;
}

export async function startPitrService(prefix: string, shape: DemoShape): Promise<PitrService> {
  const service = await startTestService(prefix, shape, { worker: false });
  const config = loadConfig();
  const admin = new Client({ connectionString: service.app.adminUrl });
  await admin.connect();
  await admin.query(`GRANT CREATE ON DATABASE ${q(service.app.name)} TO compliance_ops`);
  await setupArchiveSource(service.app.adminUrl, config);
  const appPool = createPool(service.app.serviceUrl, 4);
  const catalogPool = createPool(service.catalog.serviceUrl, 4);
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  const map = await discoverDataMap(appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  const names = archiveNamesFor(config.DATABASE_URL);
  const archiver = testArchiver(service.app.adminUrl, names, { config, catalogPool, s3, map });
  const workers: WorkerProcess[] = [];
  const restoreDeps: RestoreDependencies = { config, appPool, catalogPool, s3, kms, archiver, subjectHashSecret: config.SUBJECT_HASH_SECRET };

  return {
    service, config, admin, appPool, catalogPool, s3, kms, map, names, archiver, restoreDeps, workers,
    startWorker(env = {}) {
      const worker = startWorkerProcess({ ...process.env, ...env });
      workers.push(worker);
      return worker;
    },
    contents: (tenantId, schema) => tenantContents(admin, map, tenantId, schema),
    async archivedLsn() {
      const { rows } = await catalogPool.query<{ lsn: string }>('SELECT archived_lsn::text AS lsn FROM wal_archives WHERE slot_name = $1', [names.slot]);
      return rows[0]?.lsn;
    },
    async close(extraSlots = []) {
      await terminateArchiverWorkflow(config).catch(() => undefined);
      await Promise.all(workers.map((w) => w.stop()));
      // A slot keeps DROP DATABASE from dropping its database.
      for (const slot of [names.slot, ...extraSlots]) {
        await dropSlot(admin, slot);
      }
      for (const t of (await admin.query<{ id: string }>('SELECT id::text FROM tenants')).rows) {
        await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${t.id}/wal/`).catch(() => undefined);
        await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${t.id}/snapshots/`).catch(() => undefined);
      }
      await deleteTableWideSegments(catalogPool, s3, config.S3_EXPORT_BUCKET).catch(() => undefined);
      await dropStagingSchemas(admin);
      await admin.end();
      await Promise.allSettled([appPool.end(), catalogPool.end()]);
      s3.destroy();
      kms.destroy();
      await service.close();
    },
  };
}

/** Every staging schema restores left in the application database (`admin` is its superuser). */
async function dropStagingSchemas(admin: Client): Promise<void> {
  for (const { nspname } of (await admin.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname ~ '^restore_'`)).rows) {
    await admin.query(`DROP SCHEMA ${q(nspname)} CASCADE`);
  }
}

/** A slot may still be in use for a moment by a worker's backend that is going away. */
async function dropSlot(admin: Client, slot: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      return;
    } catch {
      await sleep(200);
    }
  }
}

async function terminateArchiverWorkflow(config: Config): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await new TemporalClient({ connection, namespace: config.TEMPORAL_NAMESPACE }).workflow.getHandle(walArchiverWorkflowId(config)).terminate('test over');
  } finally {
    await connection.close();
  }
}

export interface ServiceArchiver {
  archiver: WalArchiver;
  close(): Promise<void>;
}

/**
 * Point-in-time restore for a test service (one with an in-process worker),
 * set up as an operator deploys it, with what the service role cannot do
 * itself: CREATE on the database for staging schemas, and the WAL archiver
 * run as the superuser (the publication needs the tables' owner), under the
 * slot the service's restores read. `close` drops the slot and the staging
 * schemas, and deletes what the archiver and the service's snapshots wrote.
 */
export async function startServiceArchiver(service: TestService, config: Config, s3: S3Client): Promise<ServiceArchiver> {
  const admin = new Client({ connectionString: service.app.adminUrl });
  await admin.connect();
  await admin.query(`GRANT CREATE ON DATABASE ${q(service.app.name)} TO compliance_ops`);
  const catalogPool = createPool(service.catalog.serviceUrl, 2);
  const appPool = createPool(service.app.serviceUrl, 2);
  const map = await discoverDataMap(appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) }).finally(() => appPool.end());
  const archiver = testArchiver(service.app.adminUrl, archiveNamesFor(service.app.serviceUrl), { config, catalogPool, s3, map });
  await archiver.ensure();
  return {
    archiver,
    async close() {
      await archiver.drop().catch(() => undefined);
      await dropStagingSchemas(admin).catch(() => undefined);
      for (const t of service.demo.tenants) {
        for (const prefix of [walPrefixOfTenant(t.id), snapshotsPrefixOfTenant(t.id)]) await deletePrefix(s3, config.S3_EXPORT_BUCKET, prefix).catch(() => undefined);
      }
      await Promise.all([admin.end(), catalogPool.end()]);
    },
  };
}
