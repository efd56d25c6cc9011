import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, escapeIdentifier, Pool } from 'pg';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../src/datamap/datamap.config';
import { discoverDataMap } from '../src/datamap/discover';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { seedDemo } from '../src/demo/generator';
import { DemoShape, planTenants } from '../src/demo/tenant-plan';
import { hmacPads, REDACTED } from '../src/erasure/anonymize';
import { BatchTuning } from '../src/erasure/batch-size';
import { createErasureActivities } from '../src/erasure/erasure.activities';
import { RequestsRepository } from '../src/requests/requests.repository';
import { LOCAL_PG_SERVICE_ROLE } from '../src/stack/endpoints';
import { Benchmark, BenchContext, BenchRow, databaseUrl, ScratchDatabase, withClient } from './bench-context';

/** The erased tenant at scale 1; the other tenants together hold as many rows again. */
const VICTIM_ROWS = 1_000_000;
const TENANTS = 9;
const WHALE_SHARE = 0.5;
/** pgbench's `-c 4`: four connections, each running transactions back to back (a closed loop). */
const CLIENTS = 4;
const WARMUP_MS = 2_000;
const QUIET_MS = 10_000;
/** Each trial erases a fresh copy of the same seed with both methods, in alternating order; rows report the medians. */
const TRIALS = 3;
/** Bench-only: JSON of BatchTuning overrides to try (e.g. '{"dutyCycle":0.5}'); unset = production defaults. */
const TUNING_ENV = 'BENCH_ERASURE_TUNING';
const DELETE_BASELINE = 'one DELETE per table, one transaction';

/** Children before parents, as the foreign keys require; invoices are kept and anonymized, as the data map says. */
const DELETE_ORDER = ['comments', 'audit_events', 'documents', 'projects', 'users'];
const ANONYMIZE_INVOICES = `UPDATE invoices SET billed_user_id = NULL, billing_name = '${REDACTED}', billing_address = '${REDACTED}',
  billing_email = 'hmac:' || encode(sha256($2 || sha256($3 || convert_to(billing_email, 'UTF8'))), 'hex')
  WHERE tenant_id = $1`;

interface OtherTenant {
  id: string;
  firstUser: number;
  users: number;
  firstDocument: number;
  documents: number;
}

/** One transaction of the other tenants' workload: started and finished, in ms of performance.now(). */
interface Sample {
  startMs: number;
  endMs: number;
}

interface WindowStats {
  p50Ms: number;
  p99Ms: number;
  txPerSecond: number;
  transactions: number;
}

interface ErasureRun {
  startMs: number;
  endMs: number;
  rows: number;
  /** what the log line adds, e.g. the purge alone */
  note: string;
}

interface Measured {
  run: ErasureRun;
  quiet: WindowStats;
  during: WindowStats;
}

const randomInt = (n: number) => Math.floor(Math.random() * n);
const seconds = (run: ErasureRun) => (run.endMs - run.startMs) / 1000;


/**
 * The other tenants at work, pgbench-style (TPC-B-like): each client runs, back
 * to back, a transaction reading a user and a document's latest comments,
 * touching the document and appending an audit event, for a random other tenant.
 */
function startWorkload(url: string, tenants: OtherTenant[], clients: number) {
  const samples: Sample[] = [];
  let errors = 0;
  let stopping = false;
  const loop = async () => {
    const c = new Client({ connectionString: url, application_name: 'bench workload' });
    await c.connect();
    try {
      while (!stopping) {
        const t = tenants[randomInt(tenants.length)];
        const user = t.firstUser + randomInt(t.users);
        const document = t.firstDocument + randomInt(t.documents);
        const startMs = performance.now();
        try {
          await c.query('BEGIN');
          await c.query({ name: 'user', text: 'SELECT email, full_name FROM users WHERE tenant_id = $1 AND id = $2', values: [t.id, user] });
          await c.query({ name: 'comments', text: 'SELECT id, author_id, created_at FROM comments WHERE tenant_id = $1 AND document_id = $2 ORDER BY id DESC LIMIT 20', values: [t.id, document] });
          await c.query({ name: 'touch', text: 'UPDATE documents SET updated_at = now() WHERE tenant_id = $1 AND id = $2', values: [t.id, document] });
          await c.query({ name: 'audit', text: `INSERT INTO audit_events (tenant_id, actor_id, action, payload) VALUES ($1, $2, 'document.viewed', '{}')`, values: [t.id, user] });
          await c.query('COMMIT');
          samples.push({ startMs, endMs: performance.now() });
        } catch {
          errors += 1;
          await c.query('ROLLBACK').catch(() => undefined);
        }
      }
    } finally {
      await c.end();
    }
  };
  const running = Array.from({ length: clients }, loop);
  return {
    samples,
    async stop(): Promise<{ errors: number }> {
      stopping = true;
      await Promise.all(running);
      return { errors };
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Latency and throughput of the transactions that finished inside [fromMs, toMs]. */
function windowStats(samples: Sample[], fromMs: number, toMs: number): WindowStats {
  const inside = samples.filter((s) => s.endMs >= fromMs && s.endMs <= toMs);
  const latencies = inside.map((s) => s.endMs - s.startMs).sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), txPerSecond: inside.length / ((toMs - fromMs) / 1000), transactions: inside.length };
}

/** A clean start for each side: dirty pages written out, and every table read once into the OS cache. */
async function settle(url: string): Promise<void> {
  await withClient(url, async (client) => {
    for (const table of ['tenants', 'users', 'projects', 'documents', 'comments', 'invoices', 'audit_events']) {
      await client.query(`SELECT count(*) FROM ${escapeIdentifier(table)}`);
    }
    await client.query('CHECKPOINT');
  });
}

/** Quiet window with the workload alone, then the erasure under the same workload. */
async function measure(ctx: BenchContext, url: string, others: OtherTenant[], erase: () => Promise<ErasureRun>): Promise<Measured> {
  await settle(url);
  const workload = startWorkload(url, others, CLIENTS);
  try {
    await sleep(WARMUP_MS);
    const quietFrom = performance.now();
    await sleep(QUIET_MS);
    const quietTo = performance.now();
    const run = await erase();
    return { run, quiet: windowStats(workload.samples, quietFrom, quietTo), during: windowStats(workload.samples, run.startMs, run.endMs) };
  } finally {
    const { errors } = await workload.stop();
    if (errors > 0) ctx.log(`    workload: ${errors} transaction(s) failed`);
  }
}

/** Ours: the engine the workflow runs — count, batched purge, verify — as the service role, through RLS. */
async function measureOurs(ctx: BenchContext, appUrl: string, tenantId: string, others: OtherTenant[]): Promise<Measured> {
  const catalog = await ctx.createScratchDatabase('erasure_catalog');
  const serviceUrl = new URL(appUrl);
  serviceUrl.username = LOCAL_PG_SERVICE_ROLE;
  const appPool: Pool = createPool(serviceUrl.toString(), 2);
  const catalogPool: Pool = createPool(catalog.url, 2);
  try {
    await migrate(catalog.url);
    const map = await discoverDataMap(appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
    const tuning = process.env[TUNING_ENV] ? (JSON.parse(process.env[TUNING_ENV]) as Partial<BatchTuning>) : undefined;
    const activities = createErasureActivities({ appPool, catalogPool, loadDataMap: async () => map, subjectHashSecret: randomBytes(32), tuning });
    const requestId = randomUUID();
    await new RequestsRepository(catalogPool).create({
      id: requestId, kind: 'erasure', tenantId, params: {}, workflowId: `erasure:${tenantId}:${requestId}`, requestedBy: 'bench',
    });
    const target = { kind: 'tenant' as const, tenantId };
    return await measure(ctx, appUrl, others, async () => {
      const startMs = performance.now();
      await activities.countScope({ requestId, target });
      const purged = await activities.purge({ requestId, target });
      const verified = await activities.verifyScope({ requestId, target });
      const endMs = performance.now();
      if (!verified.verified) throw new Error('our erasure left rows in scope');
      const rows = purged.tables.reduce((sum, t) => sum + t.rows, 0);
      return { startMs, endMs, rows, note: `purge alone ${purged.seconds.toFixed(1)} s in ${purged.batches} batches` };
    });
  } finally {
    await appPool.end();
    await catalogPool.end();
    await catalog.drop();
  }
}

/** The baseline: what a DBA would type, as the superuser, in one transaction. */
async function eraseWithDelete(url: string, tenantId: string): Promise<ErasureRun> {
  const { hmacInner, hmacOuter } = hmacPads(randomBytes(32));
  return withClient(url, async (client) => {
    const startMs = performance.now();
    await client.query('BEGIN');
    let rows = 0;
    for (const table of DELETE_ORDER.slice(0, 2)) rows += (await client.query(`DELETE FROM ${escapeIdentifier(table)} WHERE tenant_id = $1`, [tenantId])).rowCount ?? 0;
    rows += (await client.query(ANONYMIZE_INVOICES, [tenantId, hmacOuter, hmacInner])).rowCount ?? 0;
    for (const table of DELETE_ORDER.slice(2)) rows += (await client.query(`DELETE FROM ${escapeIdentifier(table)} WHERE tenant_id = $1`, [tenantId])).rowCount ?? 0;
    await client.query('COMMIT');
    return { startMs, endMs: performance.now(), rows, note: 'one transaction' };
  });
}

/** Both sides must end in the same state: nothing of the tenant left but its anonymized invoices. */
async function assertErased(url: string, tenantId: string): Promise<void> {
  await withClient(url, async (client) => {
    for (const table of DELETE_ORDER) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${escapeIdentifier(table)} WHERE tenant_id = $1`, [tenantId]);
      if (Number(rows[0].n) !== 0) throw new Error(`${rows[0].n} rows of the erased tenant left in ${table}`);
    }
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM invoices WHERE tenant_id = $1 AND (billed_user_id IS NOT NULL OR billing_name <> '${REDACTED}')`, [tenantId]);
    if (Number(rows[0].n) !== 0) throw new Error(`${rows[0].n} invoices of the erased tenant not anonymized`);
  });
}

/** An identical copy (CREATE DATABASE … TEMPLATE): the source must have no connections. */
async function cloneDatabase(ctx: BenchContext, source: ScratchDatabase, prefix: string): Promise<ScratchDatabase> {
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = (sql: string) => withClient(ctx.adminUrl, (c) => c.query(sql));
  await admin(`CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE ${escapeIdentifier(source.name)}`);
  return { name, url: databaseUrl(ctx.adminUrl, name), drop: () => admin(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`).then(() => undefined) };
}

function describeSide(name: string, m: Measured): string {
  const r = (during: number, quiet: number) => `${quiet.toFixed(2)} → ${during.toFixed(2)} (${(during / quiet).toFixed(2)}×)`;
  return `    ${name}: ${m.run.rows} rows in ${seconds(m.run).toFixed(1)} s (${m.run.note}), ${Math.round(m.run.rows / seconds(m.run))} rows/s; ` +
    `others quiet → during: p50 ${r(m.during.p50Ms, m.quiet.p50Ms)} ms, p99 ${r(m.during.p99Ms, m.quiet.p99Ms)} ms, ` +
    `${r(m.during.txPerSecond, m.quiet.txPerSecond)} tx/s (${m.during.transactions} tx during)`;
}

function resultRows(ours: Measured, baseline: Measured): BenchRow[] {
  const label = `${(ours.run.rows / 1e6).toFixed(2)}M-row tenant`;
  const row = (metric: string, unit: string, a: number, b: number, baselineName = DELETE_BASELINE): BenchRow =>
    ({ benchmark: 'erasure', metric, unit, ours: a, baseline: b, baselineName, ratio: a / b });
  const rate = (m: Measured) => m.run.rows / seconds(m.run);
  return [
    row(`wall time, ${label}`, 's', seconds(ours.run), seconds(baseline.run)),
    row(`erasure rate, ${label}`, 'rows/s', rate(ours), rate(baseline)),
    row('others p50 during erasure', 'ms', ours.during.p50Ms, baseline.during.p50Ms),
    row('others p99 during erasure', 'ms', ours.during.p99Ms, baseline.during.p99Ms),
    row('others throughput during erasure', 'tx/s', ours.during.txPerSecond, baseline.during.txPerSecond),
    row('others p50, ours: during ÷ quiet', 'ms', ours.during.p50Ms, ours.quiet.p50Ms, 'no erasure running'),
    row('others p99, ours: during ÷ quiet', 'ms', ours.during.p99Ms, ours.quiet.p99Ms, 'no erasure running'),
    row('others throughput, ours: during ÷ quiet', 'tx/s', ours.during.txPerSecond, ours.quiet.txPerSecond, 'no erasure running'),
    row('others p50, DELETE: during ÷ quiet', 'ms', baseline.during.p50Ms, baseline.quiet.p50Ms, 'no erasure running'),
    row('others p99, DELETE: during ÷ quiet', 'ms', baseline.during.p99Ms, baseline.quiet.p99Ms, 'no erasure running'),
    row('others throughput, DELETE: during ÷ quiet', 'tx/s', baseline.during.txPerSecond, baseline.quiet.txPerSecond, 'no erasure running'),
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Every number of every trial replaced by its median across trials. */
function medianOf(trials: Measured[]): Measured {
  const stats = (pick: (m: Measured) => WindowStats): WindowStats => ({
    p50Ms: median(trials.map((m) => pick(m).p50Ms)),
    p99Ms: median(trials.map((m) => pick(m).p99Ms)),
    txPerSecond: median(trials.map((m) => pick(m).txPerSecond)),
    transactions: median(trials.map((m) => pick(m).transactions)),
  });
  const wallMs = median(trials.map((m) => m.run.endMs - m.run.startMs));
  return { run: { startMs: 0, endMs: wallMs, rows: trials[0].run.rows, note: 'median' }, quiet: stats((m) => m.quiet), during: stats((m) => m.during) };
}

/** One erasure on a fresh copy of the seeded database, dropped afterwards (so its autovacuum never runs beside the next). */
async function onCopy(ctx: BenchContext, template: ScratchDatabase, tenantId: string, measureOn: (url: string) => Promise<Measured>): Promise<Measured> {
  const db = await cloneDatabase(ctx, template, 'erasure');
  try {
    const measured = await measureOn(db.url);
    await assertErased(db.url, tenantId);
    return measured;
  } finally {
    await db.drop();
  }
}

const erasureBench: Benchmark = {
  name: 'erasure',
  description:
    `a whale tenant (1M rows × scale, as many again in ${TENANTS - 1} other tenants) erased while ${CLIENTS} connections run a pgbench-style ` +
    'closed loop for random other tenants (read a user, read a document\'s latest 20 comments, update the document, insert an audit event; one transaction); ' +
    `ours = countScope → purge → verifyScope of the engine as the service role, default tuning unless $${TUNING_ENV}; ` +
    `baseline = ${DELETE_BASELINE} (children first, invoices anonymized by one UPDATE) as the superuser. ` +
    `Each of ${TRIALS} trials erases a fresh copy (CREATE DATABASE … TEMPLATE) with each method, alternating which goes first; numbers are medians. ` +
    `"quiet" is ${QUIET_MS / 1000} s of the same workload just before each erasure, on the same copy. ` +
    'Targets: ours p99 during ÷ quiet ≤ 1.5×, ours wall time ≤ 3× the DELETE\'s.',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const shape: DemoShape = { seed: 42, tenants: TENANTS, rowsPerTenant: Math.ceil((VICTIM_ROWS * ctx.scale) / WHALE_SHARE / TENANTS), whaleShare: WHALE_SHARE };
    const [victim, ...rest] = planTenants(shape);
    const others: OtherTenant[] = rest.map((t) => ({
      id: t.id, firstUser: t.firstId.users, users: t.rows.users, firstDocument: t.firstId.documents, documents: t.rows.documents,
    }));
    if (process.env[TUNING_ENV]) ctx.log(`  our tuning overrides: ${process.env[TUNING_ENV]}`);
    const template = await ctx.createScratchDatabase('erasure_seed');
    try {
      const seeded = await seedDemo(template.url, shape);
      ctx.log(`  seeded ${seeded.totalRows} rows in ${seeded.seconds.toFixed(1)} s (victim ${seeded.tenants[0].rows})`);
      const ours: Measured[] = [];
      const baseline: Measured[] = [];
      for (let trial = 1; trial <= TRIALS; trial++) {
        ctx.log(`  trial ${trial} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
        const sides = [
          async () => ours.push(await onCopy(ctx, template, victim.id, (url) => measureOurs(ctx, url, victim.id, others))),
          async () => baseline.push(await onCopy(ctx, template, victim.id, (url) => measure(ctx, url, others, () => eraseWithDelete(url, victim.id)))),
        ];
        for (const side of trial % 2 === 1 ? sides : sides.reverse()) await side();
        ctx.log(describeSide('ours', ours.at(-1)!));
        ctx.log(describeSide('single DELETE', baseline.at(-1)!));
        if (baseline.at(-1)!.run.rows !== ours.at(-1)!.run.rows) throw new Error(`the DELETE erased ${baseline.at(-1)!.run.rows} rows, ours ${ours.at(-1)!.run.rows}`);
      }
      const [o, b] = [medianOf(ours), medianOf(baseline)];
      ctx.log(describeSide('median ours', o));
      ctx.log(describeSide('median single DELETE', b));
      const p99Ratio = o.during.p99Ms / o.quiet.p99Ms;
      const wallRatio = seconds(o.run) / seconds(b.run);
      ctx.log(`  targets: others' p99 during ours ÷ quiet = ${p99Ratio.toFixed(2)}× (≤ 1.5×: ${p99Ratio <= 1.5 ? 'met' : 'MISSED'}); ` +
        `our wall time ÷ DELETE = ${wallRatio.toFixed(2)}× (≤ 3×: ${wallRatio <= 3 ? 'met' : 'MISSED'})`);
      return resultRows(o, b);
    } finally {
      await template.drop();
    }
  },
};

export default erasureBench;
