import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Config } from './config';
import { createPool } from './db/pool';
import { createRequestActivities } from './requests/request.activities';
import { RequestsRepository } from './requests/requests.repository';

/** The bundled workflow code: compiled JS in production, TypeScript sources under vitest. */
function workflowsPath(): string {
  const dir = join(__dirname, '..', 'workflows');
  return existsSync(join(dir, 'index.ts')) ? join(dir, 'index.ts') : join(dir, 'index.js');
}

/** A worker with every capability's activities; the caller runs and shuts it down. */
export async function createWorker(config: Config): Promise<{ worker: Worker; close(): Promise<void> }> {
  const catalogPool = createPool(config.CATALOG_DATABASE_URL);
  const appPool = createPool(config.DATABASE_URL);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const requests = new RequestsRepository(catalogPool);
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: workflowsPath(),
    activities: {
      ...createRequestActivities(requests),
    },
  });
  return {
    worker,
    async close() {
      await connection.close();
      await Promise.allSettled([catalogPool.end(), appPool.end()]);
    },
  };
}
