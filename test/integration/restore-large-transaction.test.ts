import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsKeyring } from '../../src/kms/keyring';
import { WalArchiver } from '../../src/restore/archiver';
import { compactArchive } from '../../src/restore/segment-compaction';
import { getSegment } from '../../src/restore/segment-store';
import { createRestoreEnv, Instant, RestoreEnv } from '../helpers/restore-env';

/**
 * A transaction larger than the archiver holds in memory (here 400 changes,
 * in production PART_CHANGES) is archived in parts while it is read; a
 * restore joins them back and is exact, before it, across it and after it;
 * a drain that dies between parts leaves nothing a restore misreads, and the
 * next drain completes the transaction.
 */
const PART_CHANGES = 400;

let env: RestoreEnv;
let A: string;
let B: string;

/** An archiver on the test's slot that splits at PART_CHANGES, writing through `s3`. */
const partingArchiver = (s3: S3Client = env.s3) => new WalArchiver({
  replicationUrl: env.app.adminUrl, catalogPool: env.catalogPool, s3, bucket: env.config.S3_EXPORT_BUCKET, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID,
  keyring: kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN), loadDataMap: async () => env.map, partChanges: PART_CHANGES,
}, env.archiver.names);

/** One transaction of about `rows` × 2 changes on A and a few hundred on B: inserts, updates with a TOASTed value, deletes. */
async function bulkTransaction(rows: number, tag: string): Promise<void> {
  await env.admin.query('BEGIN');
  try {
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action, payload) SELECT $1, $2 || g, jsonb_build_object('n', g) FROM generate_series(1, $3::int) g`, [A, tag, rows]);
    await env.admin.query(`UPDATE audit_events SET payload = payload || '{"migrated": true}' WHERE tenant_id = $1 AND action LIKE $2 || '%'`, [A, tag]);
    await env.admin.query(`UPDATE documents SET body = repeat(md5($2), 400) WHERE tenant_id = $1`, [A, tag]);
    await env.admin.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND action LIKE $2 || '1%'`, [A, tag]);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) SELECT $1, $2 || g FROM generate_series(1, 300) g`, [B, tag]);
    await env.admin.query('COMMIT');
  } catch (error) {
    await env.admin.query('ROLLBACK');
    throw error;
  }
}

const partSegments = async (tenant: string) => (await env.catalogPool.query<{ object_key: string; change_count: number }>(
  `SELECT object_key, change_count FROM wal_segments WHERE tenant_id = $1 AND object_key LIKE '%.part-%' ORDER BY id`, [tenant])).rows;

const restoresTo = async (tenant: string, at: Instant) => expect(await env.contents(tenant, (await env.restore(tenant, { lsn: at.lsn })).schema)).toEqual(at.contents);

beforeAll(async () => {
  env = await createRestoreEnv('bigtx', { seed: 1081, tenants: 3, rowsPerTenant: 60 });
  [A, B] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();
  await env.snapshot(A);
  await env.snapshot(B);
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe('a transaction too large to hold in memory', () => {
  let before: Instant;
  let after: Instant;
  let afterB: Instant;

  it('is archived in parts of at most PART_CHANGES changes, and restores join them exactly', async () => {
    before = await env.instant(A);
    await bulkTransaction(1_500, 'bulk-a ');
    after = await env.instant(A);
    afterB = await env.instant(B);
    const drained = await partingArchiver().archiveOnce();
    expect(drained.changes).toBeGreaterThan(3_000);

    const parts = await partSegments(A);
    expect(parts.length).toBeGreaterThanOrEqual(7);
    expect(Math.max(...parts.map((p) => p.change_count))).toBeLessThanOrEqual(PART_CHANGES);
    // B's 300 changes came last: its share is a whole transaction, or parts of its own numbered from 0.
    expect((await partSegments(B)).length).toBeLessThanOrEqual(1);
    const segment = await getSegment({ s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, keyring: kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN) }, parts[0].object_key, A);
    expect(segment.transactions[0].part).toEqual({ index: 0, final: false });

    await restoresTo(A, before);
    await restoresTo(A, after);
    await restoresTo(B, afterB);
  }, 120_000);

  it('a drain that dies between parts leaves restores exact, and the next drain completes the transaction', async () => {
    await bulkTransaction(1_500, 'crash-a ');
    const crashed = await env.instant(A);
    // S3 stops taking objects after a few parts, as when the worker dies mid-transaction.
    let puts = 0;
    const failing = new Proxy(env.s3, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (command: unknown) => {
          if (command instanceof PutObjectCommand && ++puts > 3) return Promise.reject(new Error('injected: S3 unreachable mid-transaction'));
          return target.send(command as PutObjectCommand);
        };
      },
    });
    await expect(partingArchiver(failing).archiveOnce()).rejects.toThrow('injected');
    expect((await partSegments(A)).length).toBeGreaterThan(0);
    // The parts written so far are past the archive's high-water mark: a restore before them does not see them.
    await restoresTo(A, after);

    await partingArchiver().archiveOnce();
    await restoresTo(A, crashed);
    await restoresTo(A, after);
  }, 120_000);

  it('compaction keeps the parts joinable', async () => {
    const final = await env.instant(A);
    await compactArchive({
      catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID,
      keyring: kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN),
    }, { settleMs: 0 });
    await restoresTo(A, before);
    await restoresTo(A, final);
    await restoresTo(B, afterB);
  }, 120_000);
});
