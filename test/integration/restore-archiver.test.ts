import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTenantTransactions } from '../../src/restore/archive-reader';
import { WalArchiver } from '../../src/restore/archiver';
import { getSegment } from '../../src/restore/segment-store';
import { assembleTransactions } from '../../src/restore/assemble';
import { formatLsn, parseLsn } from '../../src/restore/lsn';
import { kmsKeyring } from '../../src/kms/keyring';
import { createRestoreEnv, RestoreEnv } from '../helpers/restore-env';

let env: RestoreEnv;

beforeAll(async () => {
  env = await createRestoreEnv('rarch', { seed: 1017, tenants: 2, rowsPerTenant: 60 });
  await env.archiver.ensure();
}, 120_000);

afterAll(async () => {
  await env?.close();
});

async function segmentsOf(tenantId: string) {
  const { rows } = await env.catalogPool.query<{ object_key: string; first_lsn: string; last_lsn: string; change_count: number }>(
    `SELECT object_key, first_lsn::text, last_lsn::text, change_count FROM wal_segments WHERE tenant_id = $1 ORDER BY first_lsn`, [tenantId]);
  const keyring = kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
  return Promise.all(rows.map(async (r) => ({ ...r, segment: await getSegment({ s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, keyring }, r.object_key, tenantId) })));
}

describe('WAL archiver', () => {
  it('archives inserts, updates (keeping unchanged TOAST apart), deletes and truncates per tenant, and confirms the slot only to the archived LSN', async () => {
    const [a, b] = env.tenants;
    // Random, so it stays big after compression and moves out of line (TOAST).
    const big = randomBytes(12_000).toString('hex');
    await env.admin.query('BEGIN');
    await env.admin.query(`INSERT INTO users (tenant_id, id, email, full_name) VALUES ($1, 900001, 'arch@example.com', 'Arch One')`, [a.id]);
    await env.admin.query(`INSERT INTO projects (tenant_id, id, owner_id, name) VALUES ($1, 900001, 900001, 'p')`, [a.id]);
    await env.admin.query(`INSERT INTO documents (tenant_id, id, project_id, author_id, title, body) VALUES ($1, 900001, 900001, 900001, 't', $2)`, [a.id, big]);
    await env.admin.query(`INSERT INTO users (tenant_id, id, email, full_name) VALUES ($1, 900002, 'b@example.com', 'B')`, [b.id]);
    await env.admin.query('COMMIT');
    await env.admin.query(`UPDATE documents SET title = 'renamed' WHERE tenant_id = $1 AND id = 900001`, [a.id]);
    await env.admin.query(`DELETE FROM users WHERE tenant_id = $1 AND id = 900002`, [b.id]);

    const drained = await env.archiver.archiveOnce();
    expect(drained.transactions).toBeGreaterThanOrEqual(3);

    const segsA = await segmentsOf(a.id);
    const txsA = segsA.flatMap((s) => s.segment.transactions);
    const changesA = txsA.flatMap((t) => t.changes);
    expect(changesA.map((c) => c.op)).toEqual(['insert', 'insert', 'insert', 'update']);
    const update = changesA[3] as { op: 'update'; new: unknown[] };
    const rel = segsA[0].segment.relations.find((r) => r.name === 'documents')!;
    const bodyIndex = rel.columns.findIndex((c) => c.name === 'body');
    expect(update.new[bodyIndex] === false).toBe(true); // unchanged TOAST: carried forward at replay
    expect((changesA[2] as { new: unknown[] }).new[bodyIndex] === big).toBe(true);

    const segsB = await segmentsOf(b.id);
    const opsB = segsB.flatMap((s) => s.segment.transactions.flatMap((t) => t.changes.map((c) => c.op)));
    expect(opsB).toEqual(['insert', 'delete']);
    // The multi-table transaction is one transaction in each tenant's share, with the same commit LSN.
    expect(segsB[0].segment.transactions[0].commitLsn).toBe(txsA[0].commitLsn);

    const { rows } = await env.admin.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`, [env.slot]);
    expect(rows[0].confirmed).toBe(drained.archivedLsn);
    expect(await env.archiver.archivedLsn()).toBe(drained.archivedLsn);

    // Nothing new: a second drain archives no tenant change and no segment.
    const again = await env.archiver.archiveOnce();
    expect(again.segments).toBe(0);
    expect(again.lagBytes).toBeGreaterThanOrEqual(0);
    expect(parseLsn(again.archivedLsn) > parseLsn(drained.archivedLsn)).toBe(true);
  });

  it('files a TRUNCATE under every tenant', async () => {
    await env.admin.query('TRUNCATE audit_events');
    await env.archiver.archiveOnce();
    const segs = await segmentsOf('*');
    expect(segs.flatMap((s) => s.segment.transactions.flatMap((t) => t.changes.map((c) => c.op)))).toEqual(['truncate']);
  });
});

describe('WAL archiver after a crash', () => {
  it('a crash between a durable segment and the slot confirmation re-archives the same transactions, each read once at replay', async () => {
    const [a] = env.tenants;
    await env.admin.query(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, 'crash@example.com', 'Crash')`, [a.id]);
    await env.admin.query(`UPDATE users SET full_name = 'Crash 2' WHERE tenant_id = $1 AND email = 'crash@example.com'`, [a.id]);
    const slotBefore = await env.admin.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`, [env.slot]);

    const crashing = new WalArchiver({ ...archiverDeps(), onDurable: () => { throw new Error('crash before confirm'); } }, { slot: env.slot, publication: env.slot });
    await expect(crashing.archiveOnce()).rejects.toThrow('crash before confirm');
    const slotAfterCrash = await env.admin.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`, [env.slot]);
    expect(slotAfterCrash.rows[0].confirmed).toBe(slotBefore.rows[0].confirmed); // nothing confirmed that the archive could lose

    const segmentsBefore = (await segmentsOf(a.id)).length;
    await new WalArchiver(archiverDeps(), { slot: env.slot, publication: env.slot }).archiveOnce();
    const segments = await segmentsOf(a.id);
    // The repeated drain wrote the same objects (deterministic keys), so the index holds each once.
    expect(segments.length).toBe(segmentsBefore);
    const keyring = kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
    const txs = await readTenantTransactions({ catalogPool: env.catalogPool, s3: env.s3, keyring }, a.id, { lsn: '0/0', takenAt: '2000-01-01T00:00:00Z' });
    const commits = txs.map((t) => t.tx.commitLsn);
    expect(new Set(commits).size).toBe(commits.length);
    const crashOps = txs.flatMap((t) => t.tx.changes).filter((c) => c.op !== 'truncate' && JSON.stringify(c).includes('crash@example.com'));
    expect(crashOps.map((c) => c.op)).toEqual(['insert', 'update']);
  });
});

function archiverDeps() {
  return {
    replicationUrl: env.app.adminUrl, catalogPool: env.catalogPool, s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET,
    sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID, keyring: kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN), loadDataMap: async () => env.map,
  };
}

describe('WAL archiver under concurrent commits', () => {
  it('drains repeatedly while four writers commit (WAL-adjacent commits included) and loses or duplicates nothing', async () => {
    const [, b] = env.tenants;
    const writers = await Promise.all([0, 1, 2, 3].map(async () => {
      const c = new Client({ connectionString: env.app.adminUrl });
      await c.connect();
      return c;
    }));
    let stop = false;
    const writing = writers.map(async (c, w) => {
      for (let i = 0; i < 60; i++) await c.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, $2)`, [b.id, `burst-${w}-${i}`]);
    });
    const draining = (async () => {
      while (!stop) await new WalArchiver(archiverDeps(), { slot: env.slot, publication: env.slot }).archiveOnce();
    })();
    await Promise.all(writing);
    stop = true;
    await draining;
    await Promise.all(writers.map((c) => c.end()));
    await env.archiver.archiveOnce();
    const keyring = kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
    const txs = await readTenantTransactions({ catalogPool: env.catalogPool, s3: env.s3, keyring }, b.id, { lsn: '0/0', takenAt: '2000-01-01T00:00:00Z' });
    const bursts = txs.flatMap((t) => t.tx.changes).filter((c) => c.op === 'insert' && JSON.stringify(c).includes('burst-'));
    expect(bursts.length).toBe(240);
  });
});

describe('WAL archiver confirmations', () => {
  /** The slot's transactions from its confirmed LSN on, decoded as the archiver decodes them; nothing is consumed. */
  async function peekTransactions(slot: string) {
    const { rows } = await env.admin.query<{ data: Buffer }>(
      `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2, 'messages', 'true')`, [slot, env.slot]);
    return assembleTransactions(rows.map((r) => r.data)).transactions;
  }

  const xid32 = async (c: Client) => Number(BigInt((await c.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0].xid) & 0xffffffffn);

  it('confirms a transaction\'s end LSN exactly, so a WAL-adjacent next commit is archived (an ack of lsn + 1 would skip it)', async () => {
    const [a] = env.tenants;
    const [first, second] = [new Client({ connectionString: env.app.adminUrl }), new Client({ connectionString: env.app.adminUrl })];
    await Promise.all([first.connect(), second.connect()]);
    const scratch = `${env.slot}_plus_one`;
    try {
      // Other databases share the server's WAL: retry until nothing slipped between the two commits.
      for (let attempt = 0; attempt < 30; attempt++) {
        await env.archiver.archiveOnce();
        await env.admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [scratch]);
        // T2 writes first and commits last, right after T1: its commit record is all it adds after T1's.
        await second.query('BEGIN');
        await second.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, $2)`, [a.id, `adjacent-2-${attempt}`]);
        const xid2 = await xid32(second);
        await first.query('BEGIN');
        await first.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, $2)`, [a.id, `adjacent-1-${attempt}`]);
        const xid1 = await xid32(first);
        await first.query('COMMIT');
        await second.query('COMMIT');
        const seen = await peekTransactions(scratch);
        const t1 = seen.find((t) => t.xid === xid1)!;
        const t2 = seen.find((t) => t.xid === xid2)!;
        if (t2.commitLsn !== t1.endLsn) {
          await env.admin.query('SELECT pg_drop_replication_slot($1)', [scratch]);
          continue;
        }
        // Drain exactly up to T1: the slot is confirmed to T1's end, where T2's commit record starts.
        const upToT1 = await env.archiver.archiveOnce(t1.endLsn);
        expect(upToT1.archivedLsn).toBe(t1.endLsn);
        const { rows } = await env.admin.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`, [env.slot]);
        expect(rows[0].confirmed).toBe(t1.endLsn);
        await env.archiver.archiveOnce();
        const keyring = kmsKeyring(env.config, env.config.KMS_EXPORT_KEY_ARN);
        const archived = await readTenantTransactions({ catalogPool: env.catalogPool, s3: env.s3, keyring }, a.id, { lsn: '0/0', takenAt: '2000-01-01T00:00:00Z' });
        expect(archived.filter((r) => r.tx.xid === xid2).map((r) => r.tx.commitLsn)).toEqual([t1.endLsn]);

        // The pitfall, shown on the scratch slot: confirmed to T1's end + 1, the server never decodes T2 again.
        await env.admin.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [scratch, formatLsn(parseLsn(t1.endLsn) + 1n)]);
        expect((await peekTransactions(scratch)).some((t) => t.xid === xid2)).toBe(false);
        return;
      }
      throw new Error('no WAL-adjacent pair of commits in 30 attempts');
    } finally {
      await env.admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [scratch]);
      await Promise.all([first.end(), second.end()]);
    }
  });

  it('lets the slot advance while nothing it archives changes (a quiet database pins no WAL)', async () => {
    await env.archiver.archiveOnce();
    await env.admin.query('CREATE TABLE IF NOT EXISTS quiet_noise (n int)');
    await env.admin.query('INSERT INTO quiet_noise SELECT generate_series(1, 20000)');
    const { rows: [{ lsn }] } = await env.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const drained = await env.archiver.archiveOnce();
    expect(drained.segments).toBe(0);
    const { rows } = await env.admin.query<{ confirmed: string }>(`SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`, [env.slot]);
    expect(parseLsn(rows[0].confirmed) > parseLsn(lsn)).toBe(true);
    expect(drained.walStatus).toBe('reserved');
  });
});
