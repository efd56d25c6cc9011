import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors';
import { exportsPrefixOfTenant } from '../../src/export/layout';
import { snapshotsPrefixOfTenant, walPrefixOfTenant } from '../../src/restore/archive-layout';
import { pruneArchive } from '../../src/restore/archive-retention';
import { runRestore } from '../../src/restore/run-restore';
import { TenantSnapshot } from '../../src/restore/tenant-snapshot';
import { listKeys } from '../../src/s3/prefix';
import { createRestoreEnv, RestoreEnv } from '../helpers/restore-env';

const DAY_MS = 86_400_000;

let env: RestoreEnv;
let A: string;
let B: string;

/** Some of every kind of change, for both tenants, then archived: one batch of segments. */
async function changesFor(label: string): Promise<void> {
  for (const tenant of [A, B]) {
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, $2)`, [tenant, `retention-${label}`]);
    await env.admin.query(`UPDATE users SET full_name = full_name || $2 WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [tenant, ` ${label}`]);
    await env.admin.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND id = (SELECT min(id) FROM audit_events WHERE tenant_id = $1 AND action NOT LIKE 'retention-%')`, [tenant]);
  }
  await env.archiver.archiveOnce();
}

const currentLsn = async () => (await env.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;

/**
 * Moves what was recorded since `sinceSegmentId` (and the given snapshots)
 * `days` into the past, in the catalog only: the test cannot wait a week,
 * and the retention rules read nothing but these times and LSNs. Objects
 * stay real objects in MinIO.
 */
async function backdate(days: number, snapshots: TenantSnapshot[], sinceSegmentId: number): Promise<void> {
  const shift = `${days} days`;
  await env.catalogPool.query(`UPDATE restore_snapshots SET taken_at = taken_at - $2::interval WHERE id = ANY ($1::uuid[])`, [snapshots.map((s) => s.id), shift]);
  await env.catalogPool.query(
    `UPDATE wal_segments SET first_commit_at = first_commit_at - $2::interval, last_commit_at = last_commit_at - $2::interval WHERE id > $1`, [sinceSegmentId, shift]);
}

const lastSegmentId = async () => Number((await env.catalogPool.query<{ id: string | null }>('SELECT max(id)::text AS id FROM wal_segments')).rows[0].id ?? 0);

const segmentsOf = async (tenantId: string) =>
  (await env.catalogPool.query<{ id: string; object_key: string }>('SELECT id::text, object_key FROM wal_segments WHERE tenant_id = $1 ORDER BY id', [tenantId])).rows;

const snapshotIds = async (tenantId: string) =>
  (await env.catalogPool.query<{ id: string }>('SELECT id FROM restore_snapshots WHERE tenant_id = $1 ORDER BY taken_at', [tenantId])).rows.map((r) => r.id);

const objects = (prefix: string) => listKeys(env.s3, env.config.S3_EXPORT_BUCKET, prefix);

/**
 * Timeline, after backdating: 3 days ago snapshot S1 of A and B, then
 * changes (segments G1); 2 days ago snapshot S2 of A, then changes (G2);
 * today snapshot S3 of A, then changes (G3). With a one-day window the
 * window starts a day ago: A's anchor is S2, B's is S1 (its only one).
 */
let S1a: TenantSnapshot;
let S1b: TenantSnapshot;
let S2a: TenantSnapshot;
let S3a: TenantSnapshot;
let G1a: Array<{ id: string; object_key: string }>;
let atWindowStart: { lsn: string; contents: Record<string, string[]> };
let beforeAnchor: string;

beforeAll(async () => {
  env = await createRestoreEnv('restore_retention', { seed: 1011, tenants: 2, rowsPerTenant: 60 });
  [A, B] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();

  let since = await lastSegmentId();
  S1a = await env.snapshot(A);
  S1b = await env.snapshot(B);
  await changesFor('one');
  beforeAnchor = await currentLsn();
  await backdate(3, [S1a, S1b], since);
  G1a = await segmentsOf(A);

  since = await lastSegmentId();
  S2a = await env.snapshot(A);
  await changesFor('two');
  atWindowStart = { lsn: await currentLsn(), contents: await env.contents(A) };
  await backdate(2, [S2a], since);

  S3a = await env.snapshot(A);
  await changesFor('three');
}, 240_000);

afterAll(async () => {
  await env?.close();
});

describe('snapshot storage', () => {
  it('keeps snapshots in the tenant\'s snapshots/ folder, never under exports/', async () => {
    expect(S1a.prefix).toBe(`${snapshotsPrefixOfTenant(A)}${S1a.id}/`);
    expect(await objects(S1a.prefix)).toEqual(expect.arrayContaining([`${S1a.prefix}manifest.json.esdk`, `${S1a.prefix}manifest.jws`]));
    expect(await objects(exportsPrefixOfTenant(A))).toEqual([]);
  });
});

describe('PITR window retention', () => {
  it('deletes snapshots and segments older than the window, objects and rows, but keeps each tenant\'s anchor', async () => {
    expect(G1a.length).toBeGreaterThan(0);
    for (const s of [S1a, S2a, S3a, S1b]) expect((await objects(s.prefix)).length).toBeGreaterThan(2);
    const segmentsOfB = await segmentsOf(B);

    const pruned = await pruneArchive(env, { now: new Date(), windowMs: DAY_MS });
    expect(pruned).toMatchObject({ snapshotsDeleted: 1, segmentsDeleted: G1a.length, anchoredTenants: 2 });

    // A: S1 and the changes before S2 go; S2 (the anchor), S3 and every later segment stay.
    expect(await snapshotIds(A)).toEqual([S2a.id, S3a.id]);
    expect(await objects(S1a.prefix)).toEqual([]);
    for (const s of [S2a, S3a]) expect((await objects(s.prefix)).length).toBeGreaterThan(2);
    const keptOfA = await segmentsOf(A);
    expect(keptOfA.some((g) => G1a.some((old) => old.id === g.id))).toBe(false);
    expect(keptOfA.length).toBeGreaterThan(0);
    const walOfA = await objects(walPrefixOfTenant(A));
    for (const g of G1a) expect(walOfA).not.toContain(g.object_key);
    for (const g of keptOfA) expect(walOfA).toContain(g.object_key);

    // B: its only snapshot is older than the window, so it anchors it: nothing of B goes.
    expect(await snapshotIds(B)).toEqual([S1b.id]);
    expect((await objects(snapshotsPrefixOfTenant(B))).length).toBeGreaterThan(2);
    expect(await segmentsOf(B)).toEqual(segmentsOfB);
  });

  it('still restores to the window start (the anchor plus the segments after it), and refuses what is before it', async () => {
    const result = await env.restore(A, { lsn: atWindowStart.lsn });
    expect(result.snapshotId).toBe(S2a.id);
    expect(await env.contents(A, result.schema)).toEqual(atWindowStart.contents);

    const error = await runRestore(env.restoreDeps, env.map, { restoreId: randomUUID(), tenantId: A, target: { lsn: beforeAnchor }, mode: 'staging' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('restore_target_before_oldest_snapshot');
  });

  it('a second run finds nothing more to delete', async () => {
    expect(await pruneArchive(env, { now: new Date(), windowMs: DAY_MS })).toMatchObject({ snapshotsDeleted: 0, segmentsDeleted: 0 });
  });
});
