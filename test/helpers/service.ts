import { randomBytes } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { DEMO_DATAMAP_CONFIG } from '../../src/datamap/datamap.config';
import { migrate } from '../../src/db/migrate';
import { seedDemo, SeedResult } from '../../src/demo/generator';
import { DemoShape } from '../../src/demo/tenant-plan';
import { LOCAL_PG_SERVICE_ROLE } from '../../src/stack/endpoints';
import { createWorker } from '../../src/worker';
import { startTestApi, TestApi } from './api';
import { createScratchDatabase, ScratchDatabase } from './db';

export interface TestService {
  api: TestApi;
  /** null when started with `{ worker: false }` */
  worker: Worker | null;
  app: ScratchDatabase;
  catalog: ScratchDatabase;
  demo: SeedResult;
  close(): Promise<void>;
}

/**
 * The whole service against the real stack, fenced for one test file: its own
 * demo database, its own catalog and its own Temporal task queue, so no other
 * worker (a developer's `npm start`, another test file) picks up its tasks.
 * With `{ worker: false }` no worker runs in this process: the test brings its
 * own (a child process it can kill), polling the task queue in process.env.
 */
export async function startTestService(
  prefix: string,
  shape: DemoShape = { seed: 7, tenants: 4, rowsPerTenant: 400 },
  options: { worker?: boolean } = {},
): Promise<TestService> {
  const app = await createScratchDatabase(`${prefix}_app`);
  const catalog = await createScratchDatabase(`${prefix}_cat`, undefined, LOCAL_PG_SERVICE_ROLE);
  const demo = await seedDemo(app.adminUrl, shape);
  await migrate(catalog.serviceUrl);
  Object.assign(process.env, {
    DATABASE_URL: app.serviceUrl,
    CATALOG_DATABASE_URL: catalog.serviceUrl,
    DATAMAP_CONFIG: DEMO_DATAMAP_CONFIG,
    TEMPORAL_TASK_QUEUE: `test-${prefix}-${randomBytes(4).toString('hex')}`,
    // A slot per test database would pin WAL on the shared server and keep DROP DATABASE from
    // dropping it: the archiver runs only where a test asks for it (WAL_ARCHIVER=on for its worker).
    WAL_ARCHIVER: 'off',
  });
  const api = await startTestApi();
  const inProcess = options.worker === false ? null : await runWorker();
  return {
    api, worker: inProcess?.worker ?? null, app, catalog, demo,
    async close() {
      await api.close();
      await inProcess?.stop();
      await Promise.all([app.drop(), catalog.drop()]);
    },
  };
}

async function runWorker(): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const { worker, close } = await createWorker(loadConfig());
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await close();
    },
  };
}
