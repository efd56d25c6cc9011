import { Command } from 'commander';
import { Client } from 'pg';
import { serveApi } from '../api';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { DEFAULT_DEMO, seedDemo } from '../demo/generator';
import { logger } from '../logger';
import { serveProcessMetrics } from '../metrics/metrics-server';
import { setupArchiveSource } from '../restore/archiver.command';
import { localEndpoints } from '../stack/endpoints';
import { stackUp } from '../stack/stack';
import { createWorker } from '../worker';
import { printTokenExamples } from './token.command';

const say = (line: string) => process.stderr.write(`${line}\n`);

async function migrateCatalog(): Promise<void> {
  const applied = await migrate(loadConfig().CATALOG_DATABASE_URL);
  if (applied.length > 0) say(`catalog: applied ${applied.map((m) => `${m.version}_${m.name}`).join(', ')}`);
}

/**
 * Runs the worker until SIGINT/SIGTERM, then drains it. Alone, it serves its
 * metrics on WORKER_METRICS_PORT; inside `start` they are on the API's /metrics.
 */
async function runWorker(options: { serveMetrics?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  const { worker, close } = await createWorker(config);
  const metricsPort = options.serveMetrics ? config.WORKER_METRICS_PORT : undefined;
  const metrics = metricsPort !== undefined ? await serveProcessMetrics(metricsPort) : undefined;
  if (metrics) logger.info({ url: `http://127.0.0.1:${metrics.port}/metrics` }, 'worker metrics');
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    await metrics?.close();
    await close();
  }
}

async function runApi(): Promise<void> {
  const app = await serveApi();
  say(`API on ${await app.getUrl()} — docs at /docs, OpenAPI at /openapi.json`);
}

/** The demo tenants go in once; a database that already has tenants is left alone. */
async function seedDemoIfEmpty(): Promise<void> {
  const { demoAdminUrl } = localEndpoints();
  const client = new Client({ connectionString: demoAdminUrl });
  await client.connect();
  // Two statements: a query naming a missing table fails at parse time, CASE or not.
  const exists = (await client.query<{ t: string | null }>(`SELECT to_regclass('public.tenants') AS t`)).rows[0].t !== null;
  const rows = exists ? (await client.query<{ n: string }>('SELECT count(*) AS n FROM public.tenants')).rows : [{ n: '0' }];
  await client.end();
  if (Number(rows[0].n) > 0) return;
  say(`seeding the demo database (${DEFAULT_DEMO.tenants} tenants)…`);
  const result = await seedDemo(demoAdminUrl, { ...DEFAULT_DEMO });
  say(`seeded ${result.totalRows} rows in ${result.seconds.toFixed(1)} s`);
}

export function runCommands(): Command[] {
  const start = new Command('start')
    .description('bring the local stack up, migrate, seed the demo tenants, serve the API and run the worker')
    .option('--no-stack', 'use already running services (configured by environment)')
    .action(async (options: { stack: boolean }) => {
      if (options.stack) {
        await stackUp(say);
        await seedDemoIfEmpty();
        // What a deployment does once as a superuser: the archiver's publication and DDL triggers.
        if (loadConfig().WAL_ARCHIVER === 'on') say(`archiver: ${await setupArchiveSource(localEndpoints().demoAdminUrl, loadConfig())}`);
      }
      await migrateCatalog();
      await runApi();
      await printTokenExamples(localEndpoints().apiUrl);
      await runWorker();
    });

  const api = new Command('api').description('serve the HTTP API only').action(async () => {
    await migrateCatalog();
    await runApi();
  });

  const worker = new Command('worker').description('run the Temporal worker only').action(async () => {
    await migrateCatalog();
    logger.info('worker polling');
    await runWorker({ serveMetrics: true });
  });

  const migrateCommand = new Command('migrate').description('apply the catalog migrations').action(migrateCatalog);

  return [start, api, worker, migrateCommand];
}
