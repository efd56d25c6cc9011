import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { PROJECT_ROOT } from '../src/config';
import { summarizeTenant } from '../src/demo/generator';
import { DEMO_TABLES, DemoShape, planTenants } from '../src/demo/tenant-plan';
import { LOCAL_PG_SERVICE_ROLE } from '../src/stack/endpoints';
import { Benchmark, BenchContext, BenchRow, ScratchDatabase, elapsedSeconds, withClient } from './bench-context';
import type { ExportChildResult } from './export-child';

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
/** Rounds of ours then the baseline (BENCH_EXPORT_ROUNDS overrides); times are medians. */
const ROUNDS = Number(process.env.BENCH_EXPORT_ROUNDS ?? 3);

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

interface Measured {
  seconds: number;
  /** absolute peak RSS of the process(es) doing the work */
  peakRssBytes: number;
  /** CPU seconds of the client side: our export process, or psql + gzip (the server's COPY is the same work for both) */
  cpuSeconds: number;
}

/** The compiled child (`compliance-ops bench` runs dist/bench/*.js). */
const EXPORT_CHILD = join(__dirname, 'export-child.js');

/**
 * Ours: runExport end to end against the real S3 and KMS (COPY → chunk →
 * gzip → encrypt → MinIO), defaults as in production, in a process of its
 * own (export-child.ts) that samples its RSS every 50 ms.
 */
async function measureOurs(ctx: BenchContext, seeded: Seeded): Promise<Measured & { startRssBytes: number }> {
  const serviceUrl = new URL(seeded.db.url);
  serviceUrl.username = LOCAL_PG_SERVICE_ROLE;
  if (!existsSync(EXPORT_CHILD)) throw new Error(`${EXPORT_CHILD} is missing: build first (npm run build).`);
  const { stdout } = await run(process.execPath, [EXPORT_CHILD, serviceUrl.toString(), seeded.tenantId], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 1024 * 1024,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as ExportChildResult;
  if (result.rows !== seeded.rows) throw new Error(`export wrote ${result.rows} rows, the whale has ${seeded.rows}`);
  if (!result.consistent) throw new Error('export is not one consistent instant');
  ctx.log(`  ours: ${result.seconds.toFixed(1)} s, ${(result.bytes / MB).toFixed(0)} MB of CSV → ${(result.objectBytes / MB).toFixed(0)} MB in S3; ` +
    `RSS ${(result.startRssBytes / MB).toFixed(0)} MB at start, peak ${(result.peakRssBytes / MB).toFixed(0)} MB; ${result.cpuSeconds.toFixed(1)} CPU s`);
  return { seconds: result.seconds, peakRssBytes: result.peakRssBytes, startRssBytes: result.startRssBytes, cpuSeconds: result.cpuSeconds };
}

/** The baseline a user would run, table after table: `psql \copy … | gzip -1 > file`, with each process's peak RSS and CPU. */
async function copyTableWithPsql(url: string, table: string, tenantId: string, out: string): Promise<{ rssBytes: number; cpuSeconds: number }> {
  const timed = existsSync(GNU_TIME);
  const time = (name: string) => (timed ? `${GNU_TIME} -f "%M %U %S" -o "$OUT.${name}-usage" ` : '');
  const script = `set -o pipefail; ${time('psql')}"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "$SQL" | ${time('gzip')}gzip -1 > "$OUT"`;
  const sql = `\\copy (${tenantSelect(table, tenantId)}) TO STDOUT WITH CSV HEADER`;
  await run('bash', ['-c', script], { env: { ...process.env, PSQL, URL: url, SQL: sql, OUT: out } });
  if (!timed) return { rssBytes: Number.NaN, cpuSeconds: Number.NaN };
  const usage = await Promise.all(['psql', 'gzip'].map(async (name) => (await readFile(`${out}.${name}-usage`, 'utf8')).trim().split(/\s+/).map(Number)));
  return {
    rssBytes: (usage[0][0] + usage[1][0]) * 1024,
    cpuSeconds: usage[0][1] + usage[0][2] + usage[1][1] + usage[1][2],
  };
}

async function measureBaseline(ctx: BenchContext, seeded: Seeded): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'compliance-ops-bench-export-'));
  try {
    let peakRssBytes = 0;
    let cpuSeconds = 0;
    let fileBytes = 0;
    const started = process.hrtime.bigint();
    for (const table of DEMO_TABLES) {
      const out = join(dir, `${table}.csv.gz`);
      const usage = await copyTableWithPsql(seeded.db.url, table, seeded.tenantId, out);
      peakRssBytes = Math.max(peakRssBytes, usage.rssBytes);
      cpuSeconds += usage.cpuSeconds;
      fileBytes += (await stat(out)).size;
    }
    const seconds = elapsedSeconds(started);
    ctx.log(`  psql \\copy | gzip -1: ${seconds.toFixed(1)} s, ${(fileBytes / MB).toFixed(0)} MB of .csv.gz; ` +
      `peak RSS psql + gzip ${(peakRssBytes / MB).toFixed(1)} MB; ${cpuSeconds.toFixed(1)} CPU s`);
    return { seconds, peakRssBytes, cpuSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Ours and the baseline in turns, ROUNDS times: other work on a shared
 * machine comes and goes, and alternating spreads it over both sides.
 * Times are medians; peak RSS is the highest of all rounds.
 */
async function measureRounds(ctx: BenchContext, seeded: Seeded) {
  const ours: Array<Measured & { startRssBytes: number }> = [];
  const baseline: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    ctx.log(`  round ${round} of ${ROUNDS}`);
    ours.push(await measureOurs(ctx, seeded));
    baseline.push(await measureBaseline(ctx, seeded));
  }
  const summarize = <T extends Measured>(runs: T[]) => ({
    seconds: median(runs.map((r) => r.seconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
  });
  return {
    ours: { ...summarize(ours), startRssBytes: Math.min(...ours.map((r) => r.startRssBytes)) },
    baseline: summarize(baseline),
  };
}

function resultRows(seeded: Seeded, ours: Measured & { startRssBytes: number }, baseline: Measured): BenchRow[] {
  const label = `${(seeded.bytes / MB).toFixed(0)} MB tenant`;
  const common = { benchmark: 'export', baselineName: 'psql \\copy | gzip -1, per table' };
  const throughput = (m: Measured) => seeded.bytes / MB / m.seconds;
  const cpuPerGB = (m: Measured) => m.cpuSeconds / (seeded.bytes / 1e9);
  const growth = ours.peakRssBytes - ours.startRssBytes;
  return [
    { ...common, metric: `throughput, ${label}`, unit: 'MB/s', ours: throughput(ours), baseline: throughput(baseline), ratio: throughput(ours) / throughput(baseline) },
    { ...common, metric: `wall time, ${label}`, unit: 's', ours: ours.seconds, baseline: baseline.seconds, ratio: ours.seconds / baseline.seconds },
    { ...common, metric: `client CPU per GB, ${label}`, unit: 's/GB', ours: cpuPerGB(ours), baseline: cpuPerGB(baseline), ratio: cpuPerGB(ours) / cpuPerGB(baseline) },
    { ...common, metric: `peak RSS, ${label}`, unit: 'MB', ours: ours.peakRssBytes / MB, baseline: baseline.peakRssBytes / MB, ratio: ours.peakRssBytes / baseline.peakRssBytes },
    { ...common, metric: `peak RSS above start, ${label}`, unit: 'MB', ours: growth / MB, baseline: baseline.peakRssBytes / MB, ratio: growth / baseline.peakRssBytes },
  ];
}

const exportBench: Benchmark = {
  name: 'export',
  description:
    'ours = runExport of one whale tenant end to end (exported snapshot, 3 tables in parallel, COPY → 128 MiB chunks → gzip -1 → ' +
    'AWS Encryption SDK with KMS → multipart upload to MinIO with SSE-KMS) in a Node process of its own, its RSS sampled every 50 ms; ' +
    'baseline = `psql \\copy (SELECT * FROM t WHERE tenant_id = …) TO STDOUT WITH CSV HEADER | gzip -1 > file` per table, one after another, ' +
    'peak RSS and CPU of psql + gzip from GNU time. Ours and the baseline alternate, 3 rounds; times are medians, RSS the highest. ' +
    'MB/s are of the tenant\'s table data (its rows as text). Same machine, same run, warm cache.',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const db = await ctx.createScratchDatabase('export');
    try {
      const seeded = await seedWhale(ctx, db);
      const { ours, baseline } = await measureRounds(ctx, seeded);
      return resultRows(seeded, ours, baseline);
    } finally {
      await db.drop();
    }
  },
};

export default exportBench;
