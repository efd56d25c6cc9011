import { join } from 'node:path';
import { migrate } from '../src/db/migrate';
import { seedDemo } from '../src/demo/generator';
import { DemoShape, planTenants } from '../src/demo/tenant-plan';
import { Benchmark, BenchContext, BenchRow, elapsedSeconds, withClient } from './bench-context';
import { physicalPitrThenCopyBack } from './restore-baseline';
import { ARCHIVE, openOurRestorePath, OurRestorePath } from './restore-ours';
import { exited, percentile, sampleSlotLag, startRecvLogical, startSteadyArchiver } from './restore-slot-lag';
import { runHistory, tenantDigest, WorkloadTenant, workloadTenants } from './restore-workload';
import { createScratchCluster, pgAsServerUser, ScratchCluster } from './scratch-cluster';

const MB = 1e6;
/** Rows at scale 1: about 1.3 GB on disk with indexes (demo rows average ~240 bytes as text). */
const TOTAL_ROWS = 3_500_000;
const TENANTS = 20;
/** The restored tenant's share of all rows. */
const TENANT_SHARE = 0.01;
/** Row changes in the WAL history before the target, at scale 1; the history after it is a tenth of that. */
const HISTORY_CHANGES = 300_000;
/**
 * BENCH_RESTORE_HISTORY overrides the history's row changes (not scaled), e.g.
 * 3000000 for a busier day; the throughput burst keeps the default size.
 */
const HISTORY_ENV = 'BENCH_RESTORE_HISTORY';

function historyChangesOf(ctx: BenchContext): number {
  const override = process.env[HISTORY_ENV];
  if (override === undefined || override === '') return Math.round(HISTORY_CHANGES * ctx.scale);
  const changes = Number(override);
  if (!Number.isInteger(changes) || changes <= 0) throw new RangeError(`${HISTORY_ENV} must be a positive whole number of row changes (got ${override})`);
  return changes;
}
const STEADY_TX_PER_SECOND = 100;
const STEADY_SECONDS = 40;
const RECV_SLOT = 'bench_recvlogical';
const DATABASES = { app: 'app', catalog: 'catalog' };

interface Prepared {
  cluster: ScratchCluster;
  ours: OurRestorePath;
  tenants: WorkloadTenant[];
  tenantId: string;
  clusterBytes: number;
  baseBackupDir: string;
}

const adminUrl = (cluster: ScratchCluster) => cluster.primary.url(DATABASES.app);
const sql = <T extends Record<string, unknown>>(cluster: ScratchCluster, text: string, params: unknown[] = []) =>
  withClient(adminUrl(cluster), async (c) => (await c.query<T>(text, params)).rows);

/** The tenant closest to 1% of the rows (the demo's sizes follow a power law after the whale). */
function pickTenant(tenants: WorkloadTenant[]): WorkloadTenant {
  return tenants.reduce((best, t) => (Math.abs(t.share - TENANT_SHARE) < Math.abs(best.share - TENANT_SHARE) ? t : best));
}

/** Seeds the scratch cluster, sets up both archives (our slot, a second slot, archive_command), a base backup and our snapshot. */
async function prepare(ctx: BenchContext, cluster: ScratchCluster): Promise<Prepared> {
  await withClient(cluster.primary.url('postgres'), async (c) => {
    for (const db of Object.values(DATABASES)) await c.query(`CREATE DATABASE ${db}`);
  });
  const shape: DemoShape = { seed: 7701, tenants: TENANTS, rowsPerTenant: Math.round((TOTAL_ROWS * ctx.scale) / TENANTS), whaleShare: 0.3 };
  const seeded = await seedDemo(adminUrl(cluster), shape);
  await sql(cluster, `GRANT CREATE ON DATABASE ${DATABASES.app} TO compliance_ops`);
  await sql(cluster, 'CHECKPOINT');
  await migrate(cluster.primary.url(DATABASES.catalog));
  const [{ bytes }] = await sql<{ bytes: string }>(cluster, 'SELECT sum(pg_database_size(datname))::text AS bytes FROM pg_database');
  const tenants = workloadTenants(planTenants(shape));
  const tenant = pickTenant(tenants);
  ctx.log(`  seeded ${seeded.totalRows} rows in ${seeded.seconds.toFixed(0)} s, cluster ${(Number(bytes) / MB).toFixed(0)} MB; ` +
    `restoring tenant ${tenant.plan.index} (${(tenant.share * 100).toFixed(2)}% of rows)`);

  const ours = await openOurRestorePath(cluster, DATABASES);
  await ours.archiver.ensure();
  await sql(cluster, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [RECV_SLOT]);

  let started = process.hrtime.bigint();
  const baseBackupDir = join(cluster.dir, 'base');
  await pgAsServerUser('pg_basebackup', ['-d', cluster.primary.url('postgres'), '-D', baseBackupDir, '-Fp', '-X', 'stream', '-c', 'fast']);
  ctx.log(`  pg_basebackup: ${elapsedSeconds(started).toFixed(1)} s`);
  started = process.hrtime.bigint();
  const snapshot = await ours.snapshot(tenant.plan.id);
  ctx.log(`  our tenant snapshot: ${elapsedSeconds(started).toFixed(1)} s, ${snapshot.rows} rows`);
  return { cluster, ours, tenants, tenantId: tenant.plan.id, clusterBytes: Number(bytes), baseBackupDir };
}

/** The server's clock as Postgres prints it, for recovery_target_time and for ours alike. */
const serverTime = async (cluster: ScratchCluster) =>
  (await sql<{ t: string }>(cluster, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`))[0].t;

async function waitArchived(cluster: ScratchCluster, lsn: string): Promise<void> {
  const [{ wal }] = await sql<{ wal: string }>(cluster, 'SELECT pg_walfile_name($1::pg_lsn) AS wal', [lsn]);
  await sql(cluster, 'SELECT pg_switch_wal()');
  for (;;) {
    const [{ last }] = await sql<{ last: string | null }>(cluster, 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
    if (last && last >= wal) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function assertDigest(cluster: ScratchCluster, tenantId: string, expected: string, equal: boolean, what: string): Promise<void> {
  const actual = await tenantDigest(adminUrl(cluster), tenantId);
  if ((actual === expected) !== equal) throw new Error(`${what}: the tenant's rows ${equal ? 'differ from' : 'already equal'} the contents at the target`);
}

interface OurRun {
  target: string;
  expected: string;
  changes: number;
  oursSeconds: number;
}

/**
 * The WAL history, a target inside it, then our restore in place to it. As
 * in production, the archiver drains every 5 s while the history is written
 * and still runs during the restore.
 */
async function historyThenOurs(ctx: BenchContext, p: Prepared): Promise<OurRun> {
  const { cluster, ours, tenants, tenantId } = p;
  const historyChanges = historyChangesOf(ctx);
  const steady = startSteadyArchiver(ours.archiver);
  try {
    const [{ lsn: startLsn }] = await sql<{ lsn: string }>(cluster, 'SELECT pg_current_wal_lsn()::text AS lsn');
    let started = process.hrtime.bigint();
    const before = await runHistory(adminUrl(cluster), tenants, historyChanges, 'history');
    const target = await serverTime(cluster);
    const [{ bytes: walBytes }] = await sql<{ bytes: string }>(cluster, 'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text AS bytes', [startLsn]);
    const expected = await tenantDigest(adminUrl(cluster), tenantId);
    const after = await runHistory(adminUrl(cluster), tenants, historyChanges / 10, 'after-target');
    const [{ lsn: endLsn }] = await sql<{ lsn: string }>(cluster, 'SELECT pg_current_wal_lsn()::text AS lsn');
    await waitArchived(cluster, endLsn);
    ctx.log(`  WAL history: ${before} row changes (${(Number(walBytes) / MB).toFixed(0)} MB of WAL), target ${target}, then ${after} more (${elapsedSeconds(started).toFixed(1)} s)`);
    started = process.hrtime.bigint();
    await steady.caughtUp(endLsn);
    ctx.log(`  the steady archiver (a drain every 5 s) caught up ${elapsedSeconds(started).toFixed(1)} s after the last write`);

    await assertDigest(cluster, tenantId, expected, false, 'before our restore');
    started = process.hrtime.bigint();
    const restored = await ours.restoreInPlace(tenantId, target);
    const oursSeconds = elapsedSeconds(started);
    await assertDigest(cluster, tenantId, expected, true, 'after our restore');
    const written = Object.values(restored.swap?.rows ?? {}).reduce((n, r) => n + r.inserted + r.updated + r.deleted, 0);
    ctx.log(`  ours: ${oursSeconds.toFixed(2)} s (${Object.values(restored.rows).reduce((a, b) => a + b, 0)} rows restored, ${restored.appliedTransactions} transactions replayed, ` +
      `${written} rows written by the swap (${restored.swap?.by}); seconds per stage: ${restored.stageSeconds})`);
    return { target, expected, changes: before + after, oursSeconds };
  } finally {
    await steady.stop();
  }
}

async function measure(ctx: BenchContext, p: Prepared): Promise<BenchRow[]> {
  const { cluster, ours, tenants, tenantId } = p;
  const historyChanges = Math.round(HISTORY_CHANGES * ctx.scale);
  const { target, expected, changes, oursSeconds } = await historyThenOurs(ctx, p);

  // More changes after the target, so the baseline, too, starts from rows that differ.
  await runHistory(adminUrl(cluster), tenants, historyChanges / 20, 'before-baseline', 2);
  await assertDigest(cluster, tenantId, expected, false, 'before the baseline');
  const baseline = await physicalPitrThenCopyBack(cluster, { baseBackupDir: p.baseBackupDir, targetTime: target, tenantId, database: DATABASES.app }, ctx.log);
  await assertDigest(cluster, tenantId, expected, true, 'after the baseline');
  ctx.log(`  baseline: ${baseline.seconds.toFixed(1)} s (PITR ${baseline.recoverySeconds.toFixed(1)} s, copy out ${baseline.copyOutSeconds.toFixed(1)} s, ` +
    `copy in ${baseline.copyInSeconds.toFixed(1)} s); ours is ${(baseline.seconds / oursSeconds).toFixed(1)}× faster`);

  // Throughput: a burst as large as the history with the archiver stopped, its backlog decoded by pg_recvlogical into /dev/null and drained by ours into S3.
  await ours.archiver.archiveOnce();
  await sql(cluster, `SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())`, [RECV_SLOT]);
  await runHistory(adminUrl(cluster), tenants, historyChanges, 'throughput');
  const [{ lsn: burstEnd }] = await sql<{ lsn: string }>(cluster, 'SELECT pg_current_wal_lsn()::text AS lsn');
  let started = process.hrtime.bigint();
  await exited(startRecvLogical(adminUrl(cluster), RECV_SLOT, ARCHIVE.publication, burstEnd));
  const recvSeconds = elapsedSeconds(started);
  started = process.hrtime.bigint();
  const drained = await ours.archiver.archiveOnce(burstEnd);
  const archiveSeconds = elapsedSeconds(started);
  ctx.log(`  archiver: ${drained.changes} changes in ${archiveSeconds.toFixed(1)} s (${drained.segments} segments); pg_recvlogical: ${recvSeconds.toFixed(1)} s`);

  await ours.archiver.archiveOnce();
  await sql(cluster, `SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())`, [RECV_SLOT]);
  const seconds = Math.max(15, Math.round(STEADY_SECONDS * Math.min(1, ctx.scale * 4)));
  const lag = await sampleSlotLag({ adminUrl: adminUrl(cluster), archiver: ours.archiver, recvSlot: RECV_SLOT, publication: ARCHIVE.publication, tenants, txPerSecond: STEADY_TX_PER_SECOND, seconds });
  const kB = (n: number) => n / 1e3;
  ctx.log(`  slot lag at ${(lag.transactions / seconds).toFixed(0)} tx/s for ${seconds} s: ours p50 ${kB(percentile(lag.ours, 50)).toFixed(0)} kB, p95 ${kB(percentile(lag.ours, 95)).toFixed(0)} kB, ` +
    `max ${kB(Math.max(...lag.ours)).toFixed(0)} kB; pg_recvlogical p95 ${kB(percentile(lag.recvlogical, 95)).toFixed(0)} kB, max ${kB(Math.max(...lag.recvlogical)).toFixed(0)} kB`);

  const label = `${(p.clusterBytes / 1e9).toFixed(2)} GB cluster, 1 tenant of ${TENANTS}, ${changes} changes`;
  const common = { benchmark: 'restore' };
  return [
    { ...common, metric: `restore one tenant to a time, end to end (${label})`, unit: 's', ours: oursSeconds, baseline: baseline.seconds,
      baselineName: 'whole-cluster PITR to a side instance, then \\copy the tenant back', ratio: oursSeconds / baseline.seconds },
    { ...common, metric: `archiver throughput, ${drained.changes} changes`, unit: 'changes/s', ours: drained.changes / archiveSeconds,
      baseline: drained.changes / recvSeconds, baselineName: 'pg_recvlogical → /dev/null, same slot content', ratio: recvSeconds / archiveSeconds },
    ...(['p95', 'max'] as const).map((stat) => {
      const pick = (xs: number[]) => (stat === 'p95' ? percentile(xs, 95) : Math.max(...xs));
      return { ...common, metric: `slot lag ${stat}, ${STEADY_TX_PER_SECOND} tx/s steady`, unit: 'kB', ours: kB(pick(lag.ours)), baseline: kB(pick(lag.recvlogical)),
        baselineName: 'pg_recvlogical streaming (10 s status interval)', ratio: pick(lag.ours) / pick(lag.recvlogical) };
    }),
  ];
}

const restoreBench: Benchmark = {
  name: 'restore',
  description:
    'a scratch PostgreSQL 15 cluster of its own (initdb, wal_level=logical, archive_command to a local directory), demo data of 20 tenants ' +
    '(3.5 M rows × scale), the restored tenant ~1% of the rows; a base backup (pg_basebackup) and our snapshot, then a WAL history of mixed ' +
    'inserts/updates/deletes on every tenant, a target time, more changes, while our archiver drains every 5 s as in production. ' +
    'ours = runRestore in place to the target with that archiver still running (drain, snapshot load, replay, checks, swap); baseline = copy the base backup to a new data dir, recovery_target_time + restore_command from the archive, promote, then ' +
    '`psql \\copy` the tenant out and into the primary in one transaction. Both verified against the tenant\'s row digest at the target. ' +
    'Throughput: a second burst as large as the history written with the archiver stopped, then our archiver draining it vs ' +
    'pg_recvlogical reading a second slot over it into /dev/null. Lag: bytes behind ' +
    'pg_current_wal_lsn() of each slot, sampled every 250 ms under a steady load.',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const cluster = await createScratchCluster();
    let prepared: Prepared | undefined;
    try {
      prepared = await prepare(ctx, cluster);
      return await measure(ctx, prepared);
    } finally {
      await prepared?.ours.archiver.drop().catch(() => undefined);
      await prepared?.ours.close(prepared.tenants.map((t) => t.plan.id));
      await cluster.destroy();
    }
  },
};

export default restoreBench;
