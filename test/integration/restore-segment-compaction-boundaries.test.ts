import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsKeyring } from '../../src/kms/keyring';
import { walPrefixOfTenant } from '../../src/restore/archive-layout';
import { shredTenantArchive } from '../../src/restore/archive-shredding';
import { WalArchiver } from '../../src/restore/archiver';
import { parseLsn } from '../../src/restore/lsn';
import { compactArchive, CompactionOptions } from '../../src/restore/segment-compaction';
import { getSegment } from '../../src/restore/segment-store';
import { listKeys } from '../../src/s3/prefix';
import { createRestoreEnv, Instant, RestoreEnv, testArchiver } from '../helpers/restore-env';

/*
 * Where compaction must stop (a schema change, a recorded gap, another
 * slot), and what a crash, a concurrent retention or a tenant shredding
 * leave behind: never both the inputs and the merged segment indexed, never
 * a row naming a missing object, never an object that outlives its tenant.
 */

let env: RestoreEnv;
let A: string;
let B: string;

interface Row { id: string; slot_name: string; object_key: string; bucket: string; first_lsn: string; last_lsn: string; transaction_count: number }
const segmentsOf = async (tenantId: string) => (await env.catalogPool.query<Row>(
  `SELECT id::text, slot_name, object_key, bucket, first_lsn::text, last_lsn::text, transaction_count
   FROM wal_segments WHERE tenant_id = $1 ORDER BY first_lsn, id`, [tenantId])).rows;
const transactionsOf = async (tenantId: string) => (await segmentsOf(tenantId)).reduce((n, s) => n + s.transaction_count, 0);
const objects = (tenantId: string) => listKeys(env.s3, env.config.S3_EXPORT_BUCKET, walPrefixOfTenant(tenantId));
const waiting = async (tenantId: string) => (await env.catalogPool.query<{ object_key: string; reason: string }>(
  'SELECT object_key, reason FROM wal_segment_deletes WHERE tenant_id = $1 ORDER BY object_key', [tenantId])).rows;

const keyring = () => kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
const compact = (tenantId: string, options: CompactionOptions = {}) => compactArchive({
  catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID, keyring: keyring(),
}, { settleMs: 0, graceMs: 0, tenantIds: [tenantId], ...options });

const touch = (tenantId: string, label: string) =>
  env.admin.query(`UPDATE users SET full_name = $2 WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [tenantId, label]);

beforeAll(async () => {
  env = await createRestoreEnv('rcompact_edges', { seed: 1073, tenants: 2, rowsPerTenant: 40 });
  [A, B] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe('compaction after a crash, beside retention and beside a tenant shredding', () => {
  let instant: Instant;
  const restoresExactly = async () => {
    const result = await env.restore(B, { lsn: instant.lsn });
    expect(await env.contents(B, result.schema)).toEqual(instant.contents);
  };

  beforeAll(async () => {
    await env.snapshot(B);
    // A drain that crashes after its segment is durable and indexed, before the slot is confirmed…
    await touch(B, 'before the crash');
    const crashing = new WalArchiver({
      replicationUrl: env.app.adminUrl, catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET,
      sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID, keyring: keyring(), loadDataMap: async () => env.map,
      onDurable: () => { throw new Error('crash before confirm'); },
    }, { slot: env.slot, publication: env.slot });
    await expect(crashing.archiveOnce()).rejects.toThrow('crash before confirm');
    // …so the next drain, which finds one more transaction, archives the first one again under another key.
    await touch(B, 'after the crash');
    await env.archiver.archiveOnce();
    for (const label of ['one', 'two']) {
      await touch(B, label);
      await env.archiver.archiveOnce();
    }
    instant = await env.instant(B);
  }, 120_000);

  it('merges a drain repeated after a crash into one segment that holds each transaction once', async () => {
    const before = await segmentsOf(B);
    const transactionsBefore = await transactionsOf(B);
    expect(before.length).toBe(4);
    expect(before[0].first_lsn).toBe(before[1].first_lsn); // the repeated drain starts at the same commit
    await restoresExactly();

    const result = await compact(B);
    expect(result).toMatchObject({ inputSegments: 4, mergedSegments: 1, failedTenants: [] });
    expect(await transactionsOf(B)).toBe(transactionsBefore - 1);
    const [merged] = await segmentsOf(B);
    const segment = await getSegment({ s3: env.s3, bucket: merged.bucket, keyring: keyring() }, merged.object_key, B);
    expect(segment.transactions.length).toBe(transactionsBefore - 1);
    expect(new Set(segment.transactions.map((t) => t.commitLsn)).size).toBe(segment.transactions.length);
    expect(await objects(B)).toEqual([merged.object_key]);
    await restoresExactly();
  });

  it('after a crash between writing the merged object and its catalog transaction, keeps the inputs indexed; a rerun writes the same key', async () => {
    for (const label of ['three', 'four']) {
      await touch(B, label);
      await env.archiver.archiveOnce();
    }
    instant = await env.instant(B);
    await env.archiver.archiveOnce();
    const inputs = await segmentsOf(B);
    let written = '';
    // With a grace period: a process that really crashed would not go on to sweep what it left.
    const crashed = await compact(B, { graceMs: 3_600_000, onWritten: (key) => { written = key; throw new Error('crash before the catalog transaction'); } });
    expect(crashed.failedTenants).toEqual([{ tenantId: B, message: 'crash before the catalog transaction' }]);
    // The inputs are what the index names; the merged object waits, unindexed, as a merge in progress.
    expect(await segmentsOf(B)).toEqual(inputs);
    expect(await objects(B)).toContain(written);
    expect(await waiting(B)).toEqual([{ object_key: written, reason: 'merge-in-progress' }]);
    await restoresExactly();

    const rerun = await compact(B);
    expect(rerun).toMatchObject({ inputSegments: inputs.length, mergedSegments: 1, failedTenants: [] });
    const after = await segmentsOf(B);
    expect(after.map((s) => s.object_key)).toEqual([written]);
    // With no grace period the inputs went at once; nothing is left that no row names.
    expect(await objects(B)).toEqual([written]);
    expect(await waiting(B)).toEqual([]);
    await restoresExactly();
  });

  it('abandons a merge whose input retention deleted meanwhile, and deletes the merged object it wrote', async () => {
    for (const label of ['five', 'six']) {
      await touch(B, label);
      await env.archiver.archiveOnce();
    }
    const inputs = await segmentsOf(B);
    let written = '';
    const result = await compact(B, {
      onWritten: async (key) => {
        written = key;
        // What pruneArchive does to an expired segment: its object, then its row.
        await env.catalogPool.query('DELETE FROM wal_segments WHERE id = $1', [inputs[0].id]);
      },
    });
    expect(result).toMatchObject({ mergedSegments: 0, abandoned: 1, failedTenants: [] });
    expect((await segmentsOf(B)).map((s) => s.id)).toEqual(inputs.slice(1).map((s) => s.id));
    expect(await objects(B)).not.toContain(written);
    expect(await waiting(B)).toEqual([]);
  });

  it('lets a tenant shredding wait for a compaction of the tenant, so the merged object is shredded too', async () => {
    for (const label of ['seven', 'eight']) {
      await touch(B, label);
      await env.archiver.archiveOnce();
    }
    let shredding: Promise<unknown> | undefined;
    let shredded = false;
    const result = await compact(B, {
      graceMs: 3_600_000,
      onWritten: async () => {
        shredding = shredTenantArchive({ catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET }, B).then(() => { shredded = true; });
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(shredded).toBe(false); // still waiting for the tenant's archive lock
      },
    });
    expect(result).toMatchObject({ mergedSegments: 1, failedTenants: [] });
    await shredding;
    expect(await objects(B)).toEqual([]);
    expect(await segmentsOf(B)).toEqual([]);
    expect(await waiting(B)).toEqual([]);
  });
});

describe('compaction stops at a schema change, a gap and a change of slot', () => {
  let slot2: WalArchiver;
  let gap: { from_lsn: string; to_lsn: string };

  beforeAll(async () => {
    const drains = async (archiver: WalArchiver, phase: string) => {
      for (const i of [1, 2, 3]) {
        await touch(A, `${phase} ${i}`);
        await archiver.archiveOnce();
      }
    };
    await drains(env.archiver, 'before the migration');
    await env.admin.query('ALTER TABLE users ADD COLUMN nickname text');
    await drains(env.archiver, 'after the migration');
    // A gap: the slot dropped and recreated behind the archiver, WAL in between decoded by no one.
    await env.admin.query('SELECT pg_drop_replication_slot($1)', [env.slot]);
    await touch(A, 'lost in the gap');
    await env.admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [env.slot]);
    await drains(env.archiver, 'after the gap');
    gap = (await env.catalogPool.query<{ from_lsn: string; to_lsn: string }>('SELECT from_lsn::text, to_lsn::text FROM wal_archive_gaps WHERE slot_name = $1', [env.slot])).rows[0];
    // The archive moves to another slot (a renamed database, a second deployment's archiver).
    const name = `t_rcompact2_${randomBytes(4).toString('hex')}`;
    slot2 = testArchiver(env.app.adminUrl, { slot: name, publication: name }, env);
    await slot2.ensure();
    await drains(slot2, 'on another slot');
  }, 180_000);

  afterAll(async () => {
    await slot2?.drop().catch(() => undefined);
  });

  it('merges each stretch on its own: before the migration, after it, after the gap, and on the other slot', async () => {
    expect(gap).toBeDefined();
    const before = await segmentsOf(A);
    expect(before.length).toBe(12);
    const result = await compact(A);
    expect(result).toMatchObject({ inputSegments: 12, mergedSegments: 4, failedTenants: [] });

    const merged = await segmentsOf(A);
    expect(merged.length).toBe(4);
    // The other slot's segments were merged only with each other.
    expect(merged.map((s) => s.slot_name)).toEqual([env.slot, env.slot, env.slot, slot2.names.slot]);
    // No merged segment spans the gap.
    for (const s of merged) {
      const spansGap = parseLsn(s.first_lsn) < parseLsn(gap.to_lsn) && parseLsn(s.last_lsn) > parseLsn(gap.from_lsn);
      expect(spansGap).toBe(false);
    }
    expect(parseLsn(merged[1].last_lsn) <= parseLsn(gap.from_lsn)).toBe(true);
    expect(parseLsn(merged[2].first_lsn) >= parseLsn(gap.to_lsn)).toBe(true);
    // One shape of users per merged segment: without the new column before the migration, with it after.
    const shapes = await Promise.all(merged.map(async (s) => {
      const segment = await getSegment({ s3: env.s3, bucket: s.bucket, keyring: keyring() }, s.object_key, A);
      return segment.relations.filter((r) => r.name === 'users').map((r) => r.columns.some((c) => c.name === 'nickname'));
    }));
    expect(shapes).toEqual([[false], [true], [true], [true]]);
    expect(await objects(A)).toEqual(merged.map((s) => s.object_key).sort());
  });
});
