import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Config } from './config';
import { DatamapService } from './datamap/datamap.service';
import { AppDatabase } from './db/databases';
import { createPool } from './db/pool';
import { createClosingActivities } from './erasure/closing.activities';
import { createErasureActivities } from './erasure/erasure.activities';
import { createExportActivities } from './export/export.activities';
import { createKmsClient } from './kms/kms';
import { ReceiptsService } from './receipts/receipts.service';
import { throttledProgress } from './requests/progress-reporter';
import { createRequestActivities } from './requests/request.activities';
import { createRestoreActivities } from './restore/restore.activities';
import { startWalArchiver } from './restore/archiver-supervisor';
import { createSnapshotScheduleActivities } from './restore/snapshot-schedule.activities';
import { RequestsRepository } from './requests/requests.repository';
import { createRetentionActivities } from './retention/retention.activities';
import { createS3Client } from './s3/s3';
import { clientDataConverter, workerDataConverter } from './temporal/data-converter';
import { countActivityFailures } from './metrics/activity-failures.interceptor';
import { workerMetrics } from './metrics/worker-metrics';

/** The bundled workflow code: compiled JS in production, TypeScript sources under vitest. */
function workflowsPath(): string {
  const dir = join(__dirname, '..', 'workflows');
  return existsSync(join(dir, 'index.ts')) ? join(dir, 'index.ts') : join(dir, 'index.js');
}

let runtimeInstalled = false;

/** The SDK's own log lines (worker state changes…) only from warnings up, unless LOG_LEVEL asks for more. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  const level = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace' ? 'INFO' : 'WARN';
  Runtime.install({ logger: new DefaultLogger(level) });
  runtimeInstalled = true;
}

/** A worker with every capability's activities; the caller runs and shuts it down. */
export async function createWorker(config: Config): Promise<{ worker: Worker; close(): Promise<void> }> {
  installRuntime();
  const catalogPool = createPool(config.CATALOG_DATABASE_URL);
  const appPool = createPool(config.DATABASE_URL);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const requests = new RequestsRepository(catalogPool);
  const datamap = new DatamapService(new AppDatabase(appPool), config);
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  const loadDataMap = () => datamap.load();
  const receipts = ReceiptsService.fromConfig(config, { pool: catalogPool, kms, s3 });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: workflowsPath(),
    dataConverter: workerDataConverter(config),
    interceptors: { activity: [countActivityFailures(workerMetrics())] },
    activities: {
      ...createRequestActivities(requests),
      ...createExportActivities({
        config, appPool, s3, kms, loadDataMap, reportProgress: throttledProgress(requests),
      }),
      ...createErasureActivities({ appPool, catalogPool, loadDataMap, subjectHashSecret: config.SUBJECT_HASH_SECRET }),
      ...createClosingActivities({ config, s3, appPool, catalogPool, receipts, loadDataMap, subjectHashSecret: config.SUBJECT_HASH_SECRET }),
      ...createRestoreActivities({
        config, appPool, catalogPool, s3, kms, loadDataMap, subjectHashSecret: config.SUBJECT_HASH_SECRET,
        reportProgress: (id, progress) => requests.reportProgress(id, progress).catch(() => undefined),
      }),
      ...createSnapshotScheduleActivities({ config, appPool, catalogPool, s3, loadDataMap }),
      ...createRetentionActivities({ appPool, catalogPool, loadDataMap, subjectHashSecret: config.SUBJECT_HASH_SECRET, receipts }),
    },
  });
  // One archiver per application database, whichever worker boots first (see archiver-supervisor.ts).
  if (config.WAL_ARCHIVER === 'on') {
    await startWalArchiver(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(config) }), config);
  }
  return {
    worker,
    async close() {
      await connection.close();
      s3.destroy();
      kms.destroy();
      await Promise.allSettled([catalogPool.end(), appPool.end()]);
    },
  };
}
