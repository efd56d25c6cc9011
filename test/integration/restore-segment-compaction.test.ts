import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsKeyring } from '../../src/kms/keyring';
import { walPrefixOfTenant } from '../../src/restore/archive-layout';
import { pruneArchive } from '../../src/restore/archive-retention';
import { shredTenantArchive } from '../../src/restore/archive-shredding';
import { formatCompaction, formatMerged } from '../../src/restore/archiver.command';
import { parseLsn } from '../../src/restore/lsn';
import { RestoreTarget } from '../../src/restore/restore-target';
import { compactArchive, CompactionOptions, MergedSegment } from '../../src/restore/segment-compaction';
import { sweepSegmentDeletes } from '../../src/restore/segment-deletes';
import { getSegment } from '../../src/restore/segment-store';
import { TenantSnapshot } from '../../src/restore/tenant-snapshot';
import { ALL_TENANTS } from '../../src/restore/wal.types';
import { listKeys } from '../../src/s3/prefix';
import { createRestoreEnv, Instant, RestoreEnv } from '../helpers/restore-env';

/*
 * Compaction of a realistic archive: 30 small drains (inserts, updates,
 * deletes, a cross-tenant transaction, two TRUNCATEs filed under `*`),
 * restores to remembered instants before and after, the grace period that
 * keeps inputs readable for restores already reading, then retention and
 * tenant shredding over merged segments.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

let env: RestoreEnv;
let A: string;
let B: string;
let S1a: TenantSnapshot;
const instantsOfA: Instant[] = [];
let lastOfB: Instant;

interface Stats { tenant_id: string; segments: number; transactions: number; changes: number }
const stats = async () => (await env.catalogPool.query<Stats>(
  `SELECT tenant_id, count(*)::int AS segments, sum(transaction_count)::int AS transactions, sum(change_count)::int AS changes
   FROM wal_segments GROUP BY tenant_id ORDER BY tenant_id`)).rows;

const segmentsOf = async (tenantId: string) => (await env.catalogPool.query<{ id: string; object_key: string; bucket: string }>(
  'SELECT id::text, object_key, bucket FROM wal_segments WHERE tenant_id = $1 ORDER BY first_lsn, id', [tenantId])).rows;

const objects = (tenantId: string) => listKeys(env.s3, env.config.S3_EXPORT_BUCKET, walPrefixOfTenant(tenantId));

const compactionDeps = () => ({
  catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID,
  keyring: kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN),
});
const compact = (options: CompactionOptions) => compactArchive(compactionDeps(), { settleMs: 0, ...options });

/** Every remembered instant of A restored by LSN, and the first and last by time, each exactly as it was. */
async function restoresOfAMatch(): Promise<void> {
  const targets: Array<[RestoreTarget, Instant]> = [
    ...instantsOfA.map((i): [RestoreTarget, Instant] => [{ lsn: i.lsn }, i]),
    [{ time: instantsOfA[0].time }, instantsOfA[0]],
    [{ time: instantsOfA[instantsOfA.length - 1].time }, instantsOfA[instantsOfA.length - 1]],
  ];
  for (const [target, instant] of targets) {
    const result = await env.restore(A, target);
    expect(result.snapshotId).toBe(S1a.id);
    expect(await env.contents(A, result.schema), JSON.stringify(target)).toEqual(instant.contents);
  }
}

async function restoreOfBMatches(): Promise<void> {
  const b = await env.restore(B, { lsn: lastOfB.lsn });
  expect(await env.contents(B, b.schema)).toEqual(lastOfB.contents);
}

beforeAll(async () => {
  env = await createRestoreEnv('rcompact', { seed: 1071, tenants: 2, rowsPerTenant: 60 });
  [A, B] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();
  S1a = await env.snapshot(A);
  await env.snapshot(B);

  for (let i = 0; i < 30; i++) {
    for (const tenant of [A, B]) {
      await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, $2)`, [tenant, `compact-${i}`]);
      await env.admin.query(`UPDATE users SET full_name = full_name || $2 WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [tenant, ` ${i}`]);
      if (i % 3 === 2) await env.admin.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND id = (SELECT min(id) FROM audit_events WHERE tenant_id = $1)`, [tenant]);
    }
    if (i === 12 || i === 24) await env.admin.query('TRUNCATE audit_events'); // no table references it
    if (i === 18) {
      // One transaction of both tenants: the same commit LSN in A's and B's segments.
      await env.admin.query('BEGIN');
      for (const tenant of [A, B]) await env.admin.query(`UPDATE users SET email = 'x' || email WHERE tenant_id = $1 AND id = (SELECT max(id) FROM users WHERE tenant_id = $1)`, [tenant]);
      await env.admin.query('COMMIT');
    }
    if ([4, 12, 18, 25, 29].includes(i)) instantsOfA.push(await env.instant(A));
    if (i === 29) lastOfB = await env.instant(B);
    await env.archiver.archiveOnce();
  }
}, 240_000);

afterAll(async () => {
  // Objects a test left waiting for their grace period: the `*` prefix is shared with other test files.
  await env?.catalogPool.query('UPDATE wal_segment_deletes SET delete_after = now()').catch(() => undefined);
  if (env) await sweepSegmentDeletes(env).catch(() => undefined);
  await env?.close();
});

describe('WAL segment compaction', () => {
  let before: Stats[];
  let inputsOfA: Array<{ id: string; object_key: string; bucket: string }>;
  let merged: MergedSegment[];

  it('restores every remembered instant exactly before compaction', async () => {
    before = await stats();
    expect(before.map((s) => s.tenant_id).sort()).toEqual([A, B, ALL_TENANTS].sort());
    expect(before.find((s) => s.tenant_id === A)!.segments).toBeGreaterThanOrEqual(30);
    await restoresOfAMatch();
    await restoreOfBMatches();
  });

  it('merges each tenant\'s small segments (and the table-wide ones) into one, with the same transactions and changes', async () => {
    before = await stats(); // the restores above may have drained an empty batch: count from here
    inputsOfA = await segmentsOf(A);
    merged = [];
    const result = await compact({ graceMs: HOUR_MS, onMerged: (m) => merged.push(m) });
    const after = await stats();

    expect(result).toMatchObject({ tenants: 3, mergedSegments: 3, abandoned: 0, objectsDeleted: 0, failedTenants: [] });
    expect(result.inputSegments).toBe(before.reduce((n, s) => n + s.segments, 0));
    expect(after.map((s) => s.segments)).toEqual([1, 1, 1]);
    // Nothing was archived twice here, so the merged rows count exactly what their inputs did.
    expect(after.map(({ tenant_id, transactions, changes }) => ({ tenant_id, transactions, changes })))
      .toEqual(before.map(({ tenant_id, transactions, changes }) => ({ tenant_id, transactions, changes })));
    console.log(`segments before compaction: ${JSON.stringify(before.map((s) => [s.tenant_id, s.segments]))}; after: ${JSON.stringify(after.map((s) => [s.tenant_id, s.segments]))}`);

    // What the operator's command prints.
    const printed = merged.map(formatMerged).join('') + formatCompaction(result);
    expect(printed).toContain(`merged   ${A}  ${inputsOfA.length} segments → ${walPrefixOfTenant(A)}`);
    expect(printed).toContain(`compacted ${result.inputSegments} segments into 3`);
  });

  it('writes the merged segment under a new key, in commit order, each transaction once, with the relations it uses', async () => {
    const [row] = await segmentsOf(A);
    const segment = await getSegment({ ...compactionDeps(), bucket: row.bucket }, row.object_key, A);
    const commits = segment.transactions.map((t) => parseLsn(t.commitLsn));
    expect(new Set(commits).size).toBe(commits.length);
    expect(commits.every((lsn, i) => i === 0 || commits[i - 1] < lsn)).toBe(true);
    expect(segment.transactions.length).toBe(merged.find((m) => m.tenantId === A)!.transactions);
    expect(segment.relations.map((r) => r.name).sort()).toEqual(['audit_events', 'users']);
    expect(inputsOfA.map((i) => i.object_key)).not.toContain(row.object_key);
  });

  it('keeps the inputs\' objects readable through the grace period, for restores that listed them before the merge', async () => {
    expect((await segmentsOf(A)).some((s) => inputsOfA.some((i) => i.id === s.id))).toBe(false);
    const keyring = kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
    // A restore that listed the inputs just before the merge committed now GETs them: still there.
    for (const input of inputsOfA) {
      await expect(getSegment({ s3: env.s3, bucket: input.bucket, keyring }, input.object_key, A)).resolves.toMatchObject({ tenantId: A });
    }
    const { rows } = await env.catalogPool.query<{ object_key: string; reason: string }>(
      'SELECT object_key, reason FROM wal_segment_deletes WHERE tenant_id = $1 ORDER BY object_key', [A]);
    expect(rows).toEqual(inputsOfA.map((i) => ({ object_key: i.object_key, reason: 'compacted' })).sort((x, y) => x.object_key.localeCompare(y.object_key)));
    // Not yet due: a sweep deletes nothing.
    expect(await sweepSegmentDeletes(env)).toBe(0);
  });

  it('restores every remembered instant exactly after compaction', async () => {
    await restoresOfAMatch();
    await restoreOfBMatches();
  });

  it('finds nothing more to merge on a second run', async () => {
    expect(await compact({ graceMs: HOUR_MS })).toMatchObject({ mergedSegments: 0, inputSegments: 0 });
  });

  it('shreds an erased tenant\'s merged segments, and the inputs waiting for their grace period, objects and rows', async () => {
    const waiting = (await objects(B)).length;
    expect(waiting).toBeGreaterThan(30); // the merged object and the inputs in their grace period
    const shred = await shredTenantArchive({ catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET }, B);
    expect(shred).toMatchObject({ segments: 1, segmentObjects: waiting });
    expect(await objects(B)).toEqual([]);
    expect(await segmentsOf(B)).toEqual([]);
    const { rows } = await env.catalogPool.query('SELECT 1 FROM wal_segment_deletes WHERE tenant_id = $1', [B]);
    expect(rows).toEqual([]);
  });

  it('deletes the inputs\' objects once the grace period is over, and never an object the index names', async () => {
    // The grace period passes (in the catalog only: the test cannot wait six hours).
    await env.catalogPool.query(`UPDATE wal_segment_deletes SET delete_after = now() - interval '1 second'`);
    const due = (await env.catalogPool.query<{ n: number }>('SELECT count(*)::int AS n FROM wal_segment_deletes')).rows[0].n;
    const result = await compact({ graceMs: HOUR_MS });
    expect(result.objectsDeleted).toBe(due);
    for (const tenant of [A, ALL_TENANTS]) {
      const indexed = (await segmentsOf(tenant)).map((s) => s.object_key);
      const left = await objects(tenant);
      if (tenant === A) expect(left).toEqual(indexed);
      else for (const key of indexed) expect(left).toContain(key);
      for (const input of inputsOfA) expect(left).not.toContain(input.object_key);
    }
    expect((await env.catalogPool.query('SELECT 1 FROM wal_segment_deletes')).rows).toEqual([]);
    // Only the merged segment is left of A's archive, and every instant still restores from it.
    await restoresOfAMatch();
  });

  it('lets PITR window retention delete merged segments, objects and rows, and restore from the new anchor', async () => {
    // S1 and everything merged so far move three days back; S2 two days back becomes the anchor of a one-day window.
    await env.catalogPool.query(`UPDATE restore_snapshots SET taken_at = taken_at - interval '3 days' WHERE id = $1`, [S1a.id]);
    await env.catalogPool.query(`UPDATE wal_segments SET first_commit_at = first_commit_at - interval '3 days', last_commit_at = last_commit_at - interval '3 days'`);
    const mergedOfA = await segmentsOf(A);
    const mergedWide = await segmentsOf(ALL_TENANTS);
    const S2a = await env.snapshot(A);
    await env.catalogPool.query(`UPDATE restore_snapshots SET taken_at = taken_at - interval '2 days' WHERE id = $1`, [S2a.id]);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'after the anchor')`, [A]);
    const now = await env.instant(A);
    await env.archiver.archiveOnce();

    const pruned = await pruneArchive(env, { now: new Date(), windowMs: DAY_MS });
    expect(pruned).toMatchObject({ snapshotsDeleted: 1, segmentsDeleted: mergedOfA.length + mergedWide.length });
    const leftOfA = await objects(A);
    for (const s of mergedOfA) expect(leftOfA).not.toContain(s.object_key);
    const leftWide = await objects(ALL_TENANTS);
    for (const s of mergedWide) expect(leftWide).not.toContain(s.object_key);
    expect((await segmentsOf(A)).some((s) => mergedOfA.some((m) => m.id === s.id))).toBe(false);

    const restored = await env.restore(A, { lsn: now.lsn });
    expect(restored.snapshotId).toBe(S2a.id);
    expect(await env.contents(A, restored.schema)).toEqual(now.contents);
  });
});
