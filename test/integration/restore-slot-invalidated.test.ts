import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE, openOurRestorePath, OurRestorePath } from '../../bench/restore-ours';
import { createScratchCluster, ScratchCluster } from '../../bench/scratch-cluster';
import { migrate } from '../../src/db/migrate';
import { seedDemo } from '../../src/demo/generator';
import { DomainError, HTTP_STATUS } from '../../src/errors';
import { readSlotHealth } from '../../src/restore/archiver-health';
import { parseLsn } from '../../src/restore/lsn';
import { RestoreTarget } from '../../src/restore/restore-target';
import { RestoreResult, runRestore } from '../../src/restore/run-restore';
import { TenantSnapshot } from '../../src/restore/tenant-snapshot';
import { deleteTableWideSegments, Instant, tenantContents } from '../helpers/restore-env';

/*
 * A slot really invalidated by max_slot_wal_keep_size (wal_status 'lost'),
 * not simulated by dropping it: the archiver must record the lost stretch as
 * a gap and carry on with a new slot, and restores must refuse to replay
 * across it while still working on either side of it.
 *
 * The shared test server keeps 4 GB per slot and other files use it, so this
 * runs on a scratch cluster of its own that keeps nothing for slots.
 */

const DATABASES = { app: 'app', catalog: 'catalog' };
/**
 * Less than one 16 MB WAL segment: at every checkpoint Postgres invalidates a
 * slot whose restart_lsn lies in a segment before the checkpoint's.
 */
const SLOT_KEEPS_NOTHING = { max_slot_wal_keep_size: '1MB', wal_keep_size: '0' };
/** Rounds of "new WAL segment, then checkpoint" before the test gives up waiting for 'lost'. */
const INVALIDATION_ROUNDS = 10;

let cluster: ScratchCluster;
let admin: Client;
let ours: OurRestorePath;
let tenantIds: string[];
let A: string;

let oldSnapshot: TenantSnapshot;
/** archived before the archiver stopped draining */
let beforeGap: Instant;
let archivedBeforeGap: string;
/** where the unarchived changes start and end */
let lostFrom: Instant;
let lostTo: Instant;

async function instant(tenantId: string): Promise<Instant> {
  const { rows } = await admin.query<{ lsn: string; time: string }>(
    `SELECT pg_current_wal_lsn()::text AS lsn, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time`);
  return { ...rows[0], contents: await tenantContents(admin, ours.map, tenantId) };
}

/** Into a staging schema: the live rows stay as they are for the next comparison. */
const restore = (tenantId: string, target: RestoreTarget): Promise<RestoreResult> =>
  runRestore(ours.deps, ours.map, { restoreId: randomUUID(), tenantId, target, mode: 'staging' });

const audit = (tenantId: string, action: string) =>
  admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, $2)`, [tenantId, action]);

/**
 * Moves WAL on by whole segments and checkpoints until Postgres has
 * invalidated the slot. pg_switch_wal only moves on from a segment that holds
 * WAL; the checkpoint record written each round sees to that for the next one.
 */
async function checkpointUntilSlotLost(): Promise<void> {
  let status: string | null | undefined;
  for (let round = 0; round < INVALIDATION_ROUNDS; round++) {
    await admin.query('SELECT pg_switch_wal()');
    await admin.query('CHECKPOINT');
    status = (await readSlotHealth(admin, ARCHIVE.slot))?.walStatus;
    if (status === 'lost') return;
  }
  throw new Error(`slot ${ARCHIVE.slot} is still wal_status '${status ?? 'missing'}' after ${INVALIDATION_ROUNDS} WAL switches and checkpoints; ` +
    `expected 'lost' with ${JSON.stringify(SLOT_KEEPS_NOTHING)} (are the settings applied?)`);
}

beforeAll(async () => {
  cluster = await createScratchCluster({ settings: SLOT_KEEPS_NOTHING });
  const server = new Client({ connectionString: cluster.primary.url('postgres') });
  await server.connect();
  for (const db of Object.values(DATABASES)) await server.query(`CREATE DATABASE ${db}`);
  await server.end();
  const seeded = await seedDemo(cluster.primary.url(DATABASES.app), { seed: 1051, tenants: 2, rowsPerTenant: 40 });
  tenantIds = seeded.tenants.map((t) => t.id);
  A = tenantIds[0];
  admin = new Client({ connectionString: cluster.primary.url(DATABASES.app) });
  await admin.connect();
  // Staging schemas live in the application database, created by the service role.
  await admin.query(`GRANT CREATE ON DATABASE ${DATABASES.app} TO compliance_ops`);
  await migrate(cluster.primary.url(DATABASES.catalog));
  ours = await openOurRestorePath(cluster, DATABASES);
  await ours.archiver.ensure();

  oldSnapshot = await ours.snapshot(A);
  await audit(A, 'before the gap');
  beforeGap = await instant(A);
  await ours.archiver.archiveOnce();
  archivedBeforeGap = await ours.archiver.archivedLsn();

  // From here the archiver does not drain: these changes exist only in WAL the slot is about to lose.
  lostFrom = await instant(A);
  await audit(A, 'lost in the gap');
  await admin.query(`UPDATE users SET full_name = 'renamed in the gap' WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [A]);
  lostTo = await instant(A);
  await checkpointUntilSlotLost();
}, 120_000);

afterAll(async () => {
  if (ours) {
    await deleteTableWideSegments(ours.deps.catalogPool, ours.deps.s3, ours.deps.config.S3_EXPORT_BUCKET).catch(() => undefined);
    await ours.close(tenantIds);
  }
  await admin?.end().catch(() => undefined);
  await cluster?.destroy();
});

describe('a WAL archive slot invalidated by max_slot_wal_keep_size', () => {
  it('makes the next drain record a gap over the lost WAL and continue on a new slot', async () => {
    const drained = await ours.archiver.archiveOnce();
    expect(drained.gap).toMatchObject({ fromLsn: archivedBeforeGap, reason: expect.stringContaining('was invalidated') });

    const { rows: gaps } = await ours.deps.catalogPool.query<{ from_lsn: string; to_lsn: string; from_commit_at: Date; reason: string }>(
      'SELECT from_lsn::text, to_lsn::text, from_commit_at, reason FROM wal_archive_gaps WHERE slot_name = $1', [ARCHIVE.slot]);
    expect(gaps).toEqual([{ from_lsn: archivedBeforeGap, to_lsn: drained.gap!.toLsn, from_commit_at: expect.any(Date), reason: drained.gap!.reason }]);
    const [gap] = gaps;
    // The gap covers the unarchived changes by LSN, and by time starts after what was archived.
    expect(parseLsn(gap.from_lsn) <= parseLsn(lostFrom.lsn)).toBe(true);
    expect(parseLsn(gap.to_lsn) >= parseLsn(lostTo.lsn)).toBe(true);
    expect(gap.from_commit_at.getTime()).toBeGreaterThan(new Date(beforeGap.time).getTime());
    expect(gap.from_commit_at.getTime()).toBeLessThanOrEqual(new Date(lostFrom.time).getTime());

    // A fresh slot, drained and confirmed exactly where the archive stands.
    const health = await readSlotHealth(admin, ARCHIVE.slot);
    expect(health).toMatchObject({ walStatus: 'reserved', confirmedLsn: drained.archivedLsn });
    expect(drained.walStatus).toBe('reserved');

    // The gap is recorded once: the next drain finds a healthy slot.
    expect((await ours.archiver.archiveOnce()).gap).toBeNull();
    const { rows: [{ n }] } = await ours.deps.catalogPool.query<{ n: number }>('SELECT count(*)::int AS n FROM wal_archive_gaps WHERE slot_name = $1', [ARCHIVE.slot]);
    expect(n).toBe(1);
  });

  it('refuses to restore from the old snapshot to a point in or after the gap, with a 409', async () => {
    await audit(A, 'after the gap');
    const afterGap = await instant(A);
    for (const target of [{ time: lostTo.time }, { time: afterGap.time }, { lsn: afterGap.lsn }]) {
      const error = await restore(A, target).catch((e: unknown) => e);
      expect(error, JSON.stringify(target)).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ kind: 'conflict', code: 'restore_spans_archive_gap', details: { fromLsn: archivedBeforeGap, snapshotId: oldSnapshot.id } });
      expect(HTTP_STATUS[(error as DomainError).kind]).toBe(409);
      expect((error as DomainError).message).toContain(`from LSN ${archivedBeforeGap}`);
    }
  });

  it('still restores to a time before the gap, exactly', async () => {
    const result = await restore(A, { time: beforeGap.time });
    expect(result.snapshotId).toBe(oldSnapshot.id);
    expect(await tenantContents(admin, ours.map, A, result.schema)).toEqual(beforeGap.contents);
    // What was lost is not in it, and what was archived is.
    expect(beforeGap.contents.audit_events.some((row) => row.includes('before the gap'))).toBe(true);
    expect(beforeGap.contents.audit_events.some((row) => row.includes('lost in the gap'))).toBe(false);
  });

  it('restores to later times again once a snapshot is taken after the gap', async () => {
    const newSnapshot = await ours.snapshot(A);
    expect(parseLsn(newSnapshot.lsn) >= parseLsn(lostTo.lsn)).toBe(true);
    await audit(A, 'after the new snapshot');
    const later = await instant(A);
    await ours.archiver.archiveOnce();
    const result = await restore(A, { time: later.time });
    expect(result.snapshotId).toBe(newSnapshot.id);
    expect(result.appliedTransactions).toBeGreaterThan(0);
    expect(await tenantContents(admin, ours.map, A, result.schema)).toEqual(later.contents);
  });
});
