import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../src/datamap/datamap.config';
import { discoverDataMap } from '../src/datamap/discover';
import { createPool } from '../src/db/pool';
import { runExport } from '../src/export/run-export';
import { createKmsClient } from '../src/kms/kms';
import { deletePrefix } from '../src/s3/prefix';
import { createS3Client } from '../src/s3/s3';
import { elapsedSeconds } from './bench-context';

/**
 * One export in a process of its own, as the export benchmark's "ours": what
 * the worker's activity runs, with only the modules it needs loaded, so the
 * RSS measured is the export's and not whatever the bench process (the CLI,
 * the seeding) holds. Prints one JSON line: ExportChildResult.
 *
 *   node dist/bench/export-child.js <service database URL> <tenant id>
 */
export interface ExportChildResult {
  seconds: number;
  rows: number;
  /** plaintext bytes of the CSV files, and bytes stored in S3 */
  bytes: number;
  objectBytes: number;
  consistent: boolean;
  /** process RSS when the export started, and the highest seen while it ran (sampled every 50 ms) */
  startRssBytes: number;
  peakRssBytes: number;
  /** CPU seconds of this process (all its threads: zlib runs on the libuv pool) */
  cpuSeconds: number;
}

const RSS_SAMPLE_MS = 50;

async function main(databaseUrl: string, tenantId: string): Promise<ExportChildResult> {
  const config = loadConfig();
  const appPool = createPool(databaseUrl, 8);
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  try {
    const map = await discoverDataMap(appPool, { tenantColumn: config.TENANT_COLUMN, config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
    const request = { requestId: `bench-${randomBytes(6).toString('hex')}`, scope: { tenantId }, format: 'csv' as const };
    const startRssBytes = process.memoryUsage().rss;
    let peakRssBytes = startRssBytes;
    const sampler = setInterval(() => {
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
    }, RSS_SAMPLE_MS);
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    const result = await runExport({ config, appPool, s3, kms }, map, request).finally(() => clearInterval(sampler));
    const seconds = elapsedSeconds(started);
    const used = process.cpuUsage(cpu);
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
    // The request id is fresh, so its prefix holds only what this run wrote.
    await deletePrefix(s3, config.S3_EXPORT_BUCKET, result.prefix);
    return {
      seconds,
      rows: result.rows,
      bytes: result.bytes,
      objectBytes: result.objectBytes,
      consistent: result.consistent,
      startRssBytes,
      peakRssBytes,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  } finally {
    await appPool.end();
    s3.destroy();
    kms.destroy();
  }
}

if (require.main === module) {
  const [databaseUrl, tenantId] = process.argv.slice(2);
  main(databaseUrl, tenantId).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
