import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { escapeIdentifier, escapeLiteral, Pool } from 'pg';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../src/datamap/datamap.config';
import { discoverDataMap } from '../src/datamap/discover';
import { createPool } from '../src/db/pool';
import { summarizeTenant } from '../src/demo/generator';
import { DEMO_TABLES, DemoShape, planTenants } from '../src/demo/tenant-plan';
import { ExportResult } from '../src/export/export.types';
import { runExport } from '../src/export/run-export';
import { createKmsClient } from '../src/kms/kms';
import { deletePrefix } from '../src/s3/prefix';
import { createS3Client } from '../src/s3/s3';
import { LOCAL_PG_SERVICE_ROLE } from '../src/stack/endpoints';
import { Benchmark, BenchContext, BenchRow, ScratchDatabase, elapsedSeconds, withClient } from './bench-context';

const run = promisify(execFile);
const PSQL = process.env.PSQL ?? 'psql';
const CLI = join(PROJECT_ROOT, 'bin', 'compliance-ops.js');
/** GNU time (Debian package `time`) reports the baseline processes' peak RSS; without it that number is NaN. */
const GNU_TIME = '/usr/bin/time';
const MB = 1e6;
/** The whale's table data at scale 1: rows as text, what COPY reads. */
const TARGET_BYTES = 2e9;
const TENANTS = 4;
const WHALE_SHARE = 0.9;
/** Average demo row as text (measured: 65 MB for 270,000 whale rows); only sizes the seed, the bench measures the real bytes. */
const ROW_TEXT_BYTES = 240;
const RSS_SAMPLE_MS = 50;



const tenantFilter = (table: string) => (table === 'tenants' ? 'id' : 'tenant_id');

/** The tenant's rows in every table the export copies (all but the global `plans`). */
function tenantSelect(table: string, tenantId: string, expression = '*'): string {
  return `SELECT ${expression} FROM ${escapeIdentifier(table)} t WHERE ${tenantFilter(table)} = ${escapeLiteral(tenantId)}`;
}

/** Bytes of the tenant's rows as text; the denominator of both throughputs. */
async function tenantBytes(url: string, tenantId: string): Promise<number> {
  return withClient(url, async (client) => {
    let bytes = 0;
    for (const table of DEMO_TABLES) {
      const { rows } = await client.query<{ b: string | null }>(tenantSelect(table, tenantId, 'sum(octet_length(t::text)) AS b'));
      bytes += Number(rows[0].b ?? 0);
    }
    return bytes;
  });
}

interface Seeded {
  db: ScratchDatabase;
  tenantId: string;
  rows: number;
  bytes: number;
}

/**
 * One whale holding ~90% of the rows, sized so its table data is about 2 GB ×
 * scale. Seeded by `compliance-ops seed` in a child process, so what the
 * generator allocates does not count in the peak RSS measured here.
 */
async function seedWhale(ctx: BenchContext, db: ScratchDatabase): Promise<Seeded> {
  const rowsPerTenant = Math.max(1, Math.round((TARGET_BYTES * ctx.scale) / ROW_TEXT_BYTES / WHALE_SHARE / TENANTS));
  const shape: DemoShape = { seed: 42, tenants: TENANTS, rowsPerTenant, whaleShare: WHALE_SHARE };
  const started = process.hrtime.bigint();
  await run(process.execPath, [CLI, 'seed', '--database-url', db.url, '--seed', String(shape.seed), '--tenants', String(TENANTS),
    '--rows-per-tenant', String(rowsPerTenant), '--whale-share', String(WHALE_SHARE)], { maxBuffer: 16 * 1024 * 1024 });
  const seedSeconds = elapsedSeconds(started);
  // Tenant 0 is the whale; the plan is pure, so it names the same ids and row counts the seed loaded.
  const whale = summarizeTenant(planTenants(shape)[0]);
  // Measuring scans every row once (setting hint bits); the checkpoint then writes those pages out, so neither side pays for it.
  const bytes = await tenantBytes(db.url, whale.id);
  await withClient(db.url, (client) => client.query('CHECKPOINT'));
  ctx.log(`  seeded ${TENANTS} tenants in ${seedSeconds.toFixed(1)} s; whale: ${whale.rows} rows, ${(bytes / MB).toFixed(0)} MB of table data`);
  return { db, tenantId: whale.id, rows: whale.rows, bytes };
}

/** Samples this process's RSS on a timer; `stop()` returns the value at start and the highest seen. */
function sampleRss(intervalMs: number): { stop(): { startBytes: number; peakBytes: number } } {
  const startBytes = process.memoryUsage().rss;
  let peakBytes = startBytes;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, process.memoryUsage().rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return { startBytes, peakBytes: Math.max(peakBytes, process.memoryUsage().rss) };
    },
  };
}

interface Measured {
  seconds: number;
  /** absolute peak RSS of the process(es) doing the work */
  peakRssBytes: number;
}

/** Ours: runExport end to end against the real S3 and KMS (COPY → chunk → gzip → encrypt → MinIO), defaults as in production. */
async function measureOurs(ctx: BenchContext, seeded: Seeded): Promise<Measured & { growthRssBytes: number }> {
  const serviceUrl = new URL(seeded.db.url);
  serviceUrl.username = LOCAL_PG_SERVICE_ROLE;
  const config = loadConfig();
  const appPool: Pool = createPool(serviceUrl.toString(), 8);
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  let result: ExportResult | undefined;
  try {
    const map = await discoverDataMap(appPool, { tenantColumn: config.TENANT_COLUMN, config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
    const request = { requestId: `bench-${randomBytes(6).toString('hex')}`, scope: { tenantId: seeded.tenantId }, format: 'csv' as const };
    const rss = sampleRss(RSS_SAMPLE_MS);
    const started = process.hrtime.bigint();
    result = await runExport({ config, appPool, s3, kms }, map, request);
    const seconds = elapsedSeconds(started);
    const { startBytes, peakBytes } = rss.stop();
    if (result.rows !== seeded.rows) throw new Error(`export wrote ${result.rows} rows, the whale has ${seeded.rows}`);
    ctx.log(`  ours: ${seconds.toFixed(1)} s, ${(result.bytes / MB).toFixed(0)} MB of CSV → ${(result.objectBytes / MB).toFixed(0)} MB in S3; ` +
      `RSS ${(startBytes / MB).toFixed(0)} MB at start, peak ${(peakBytes / MB).toFixed(0)} MB`);
    return { seconds, peakRssBytes: peakBytes, growthRssBytes: peakBytes - startBytes };
  } finally {
    // The request id is fresh, so its prefix holds only what this run wrote.
    if (result) await deletePrefix(s3, config.S3_EXPORT_BUCKET, result.prefix);
    await appPool.end();
    s3.destroy();
    kms.destroy();
  }
}

/** The baseline a user would run, table after table: `psql \copy … | gzip -1 > file`, with each process's peak RSS. */
async function copyTableWithPsql(url: string, table: string, tenantId: string, out: string): Promise<number> {
  const timed = existsSync(GNU_TIME);
  const time = (name: string) => (timed ? `${GNU_TIME} -f %M -o "$OUT.${name}-rss" ` : '');
  const script = `set -o pipefail; ${time('psql')}"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "$SQL" | ${time('gzip')}gzip -1 > "$OUT"`;
  const sql = `\\copy (${tenantSelect(table, tenantId)}) TO STDOUT WITH CSV HEADER`;
  await run('bash', ['-c', script], { env: { ...process.env, PSQL, URL: url, SQL: sql, OUT: out } });
  if (!timed) return Number.NaN;
  const kib = await Promise.all(['psql', 'gzip'].map(async (name) => Number((await readFile(`${out}.${name}-rss`, 'utf8')).trim())));
  return (kib[0] + kib[1]) * 1024;
}

async function measureBaseline(ctx: BenchContext, seeded: Seeded): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'compliance-ops-bench-export-'));
  try {
    let peakRssBytes = 0;
    let fileBytes = 0;
    const started = process.hrtime.bigint();
    for (const table of DEMO_TABLES) {
      const out = join(dir, `${table}.csv.gz`);
      peakRssBytes = Math.max(peakRssBytes, await copyTableWithPsql(seeded.db.url, table, seeded.tenantId, out));
      fileBytes += (await stat(out)).size;
    }
    const seconds = elapsedSeconds(started);
    ctx.log(`  psql \\copy | gzip -1: ${seconds.toFixed(1)} s, ${(fileBytes / MB).toFixed(0)} MB of .csv.gz; peak RSS psql + gzip ${(peakRssBytes / MB).toFixed(1)} MB`);
    return { seconds, peakRssBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function resultRows(seeded: Seeded, ours: Measured & { growthRssBytes: number }, baseline: Measured): BenchRow[] {
  const label = `${(seeded.bytes / MB).toFixed(0)} MB tenant`;
  const common = { benchmark: 'export', baselineName: 'psql \\copy | gzip -1, per table' };
  const throughput = (m: Measured) => seeded.bytes / MB / m.seconds;
  return [
    { ...common, metric: `throughput, ${label}`, unit: 'MB/s', ours: throughput(ours), baseline: throughput(baseline), ratio: throughput(ours) / throughput(baseline) },
    { ...common, metric: `wall time, ${label}`, unit: 's', ours: ours.seconds, baseline: baseline.seconds, ratio: ours.seconds / baseline.seconds },
    { ...common, metric: `peak RSS, ${label}`, unit: 'MB', ours: ours.peakRssBytes / MB, baseline: baseline.peakRssBytes / MB, ratio: ours.peakRssBytes / baseline.peakRssBytes },
    { ...common, metric: `peak RSS above start, ${label}`, unit: 'MB', ours: ours.growthRssBytes / MB, baseline: baseline.peakRssBytes / MB, ratio: ours.growthRssBytes / baseline.peakRssBytes },
  ];
}

const exportBench: Benchmark = {
  name: 'export',
  description:
    'ours = runExport of one whale tenant end to end (exported snapshot, 3 tables in parallel, COPY → 128 MiB chunks → gzip -1 → ' +
    'AWS Encryption SDK with KMS → multipart upload to MinIO with SSE-KMS), peak RSS of the process sampled every 50 ms; ' +
    'baseline = `psql \\copy (SELECT * FROM t WHERE tenant_id = …) TO STDOUT WITH CSV HEADER | gzip -1 > file` per table, one after another, ' +
    'peak RSS of psql + gzip from GNU time. MB/s are of the tenant\'s table data (its rows as text). Same machine, same run, warm cache.',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const db = await ctx.createScratchDatabase('export');
    try {
      const seeded = await seedWhale(ctx, db);
      const ours = await measureOurs(ctx, seeded);
      const baseline = await measureBaseline(ctx, seeded);
      return resultRows(seeded, ours, baseline);
    } finally {
      await db.drop();
    }
  },
};

export default exportBench;
