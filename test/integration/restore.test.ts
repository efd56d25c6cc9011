import { randomBytes, randomUUID } from 'node:crypto';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, escapeIdentifier as q } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors';
import { hashSubject } from '../../src/receipts/subject-hash';
import { dropStaging, runRestore } from '../../src/restore/run-restore';
import { stagingSchemaName } from '../../src/restore/staging';
import { createRestoreEnv, Instant, RestoreEnv } from '../helpers/restore-env';

let env: RestoreEnv;
let A: string;
let B: string;
let C: string;

/** Tenant A is the one these tests restore. */
const instant = () => env.instant(A);
const restore = (target: { time: string } | { lsn: string }, mode: 'staging' | 'in-place' = 'staging') => env.restore(A, target, { mode });

const big = () => randomBytes(9_000).toString('hex'); // incompressible: stored out of line (TOAST)

async function tx(fn: (c: Client) => Promise<void>) {
  await env.admin.query('BEGIN');
  try {
    await fn(env.admin);
    await env.admin.query('COMMIT');
  } catch (error) {
    await env.admin.query('ROLLBACK');
    throw error;
  }
}

async function newUser(c: Client, tenant: string, email: string): Promise<string> {
  const { rows } = await c.query<{ id: string }>(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, $2, 'Restore Person') RETURNING id::text`, [tenant, email]);
  return rows[0].id;
}

async function newDocument(c: Client, tenant: string, author: string): Promise<string> {
  const { rows: p } = await c.query<{ id: string }>(`INSERT INTO projects (tenant_id, owner_id, name) VALUES ($1, $2, 'restore project') RETURNING id::text`, [tenant, author]);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO documents (tenant_id, project_id, author_id, title, body, metadata) VALUES ($1, $2, $3, 'draft', $4, '{"v": 1}') RETURNING id::text`,
    [tenant, p[0].id, author, big()]);
  return rows[0].id;
}

const instants: Instant[] = [];
let docA: string;

beforeAll(async () => {
  env = await createRestoreEnv('restore', { seed: 1005, tenants: 3, rowsPerTenant: 80 });
  [A, B, C] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();
  await env.snapshot(A);
  await env.snapshot(B);

  // 1: a multi-table transaction across two tenants, with a TOASTed body.
  await tx(async (c) => {
    const author = await newUser(c, A, 'writer@a.example');
    docA = await newDocument(c, A, author);
    await c.query(`INSERT INTO comments (tenant_id, document_id, author_id, body) VALUES ($1, $2, $3, 'first!')`, [A, docA, author]);
    await newUser(c, B, 'writer@b.example');
  });
  instants.push(await instant());

  // 2: updates that leave the TOASTed body unchanged, an update of jsonb, deletes of seeded rows.
  await env.admin.query(`UPDATE documents SET title = 'final', metadata = '{"v": 2}' WHERE tenant_id = $1 AND id = $2`, [A, docA]);
  await env.admin.query(`UPDATE users SET full_name = full_name || ' (edited)' WHERE tenant_id = $1 AND id IN (SELECT id FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 3)`, [A]);
  await env.admin.query(`DELETE FROM comments WHERE tenant_id = $1 AND id IN (SELECT id FROM comments WHERE tenant_id = $1 ORDER BY id LIMIT 2)`, [A]);
  await env.admin.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND id IN (SELECT id FROM audit_events WHERE tenant_id = $1 ORDER BY id LIMIT 5)`, [B]);
  instants.push(await instant());

  // 3: the TOASTed body itself changes; a document and its comments go.
  await env.admin.query(`UPDATE documents SET body = $3 WHERE tenant_id = $1 AND id = $2`, [A, docA, big()]);
  await tx(async (c) => {
    const { rows } = await c.query<{ id: string }>(`SELECT id::text FROM documents WHERE tenant_id = $1 AND id <> $2 ORDER BY id LIMIT 1`, [A, docA]);
    await c.query(`DELETE FROM comments WHERE tenant_id = $1 AND document_id = $2`, [A, rows[0].id]);
    await c.query(`DELETE FROM documents WHERE tenant_id = $1 AND id = $2`, [A, rows[0].id]);
  });
  instants.push(await instant());
}, 240_000);

afterAll(async () => {
  await env?.close();
});

describe('single-tenant point-in-time restore', () => {
  it('restores tenant A into staging exactly as it was at each remembered LSN', async () => {
    for (const at of instants) {
      const result = await restore({ lsn: at.lsn });
      expect(await env.contents(A, result.schema)).toEqual(at.contents);
    }
  });

  it('restores to a remembered time, inclusive of commits up to it', async () => {
    const result = await restore({ time: instants[1].time });
    expect(await env.contents(A, result.schema)).toEqual(instants[1].contents);
  });

  it('swaps tenant A in place while tenant B keeps writing, leaving B untouched', async () => {
    const before = await env.contents(B);
    let stop = false;
    const writer = new Client({ connectionString: env.app.adminUrl });
    await writer.connect();
    let written = 0;
    const writing = (async () => {
      while (!stop) {
        await writer.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'during-restore')`, [B]);
        written += 1;
      }
    })();
    try {
      const result = await restore({ lsn: instants[0].lsn }, 'in-place');
      expect(result.swapped).toBe(true);
      // Only the rows that differ from the target are written, not the whole tenant.
      expect(result.swap?.by).toBe('difference');
      const written = Object.values(result.swap!.rows).reduce((n, r) => n + r.inserted + r.updated + r.deleted, 0);
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThan(Object.values(result.rows).reduce((a, b) => a + b, 0) / 4);
    } finally {
      stop = true;
      await writing;
      await writer.end();
    }
    expect(written).toBeGreaterThan(0);
    expect(await env.contents(A)).toEqual(instants[0].contents);
    const after = await env.contents(B);
    const { rows } = await env.admin.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = 'during-restore'`, [B]);
    expect(Number(rows[0].n)).toBe(written);
    for (const table of Object.keys(before)) {
      if (table === 'audit_events') expect(after[table].filter((r) => !r.includes('during-restore'))).toEqual(before[table]);
      else expect(after[table]).toEqual(before[table]);
    }
    // Sequences are ahead of the restored ids: the application's next insert does not collide.
    await env.admin.query(`INSERT INTO invoices (tenant_id, billing_name, billing_email, billing_address, amount_cents, currency) VALUES ($1, 'n', 'e@x', 'a', 1, 'EUR')`, [A]);
  });

  it('swaps by difference in foreign-key order: a comment moved to a document made after the target goes back, and that document goes', async () => {
    const { rows: [doc] } = await env.admin.query<{ id: string; author: string }>(
      `SELECT id::text, author_id::text AS author FROM documents WHERE tenant_id = $1 ORDER BY id LIMIT 1`, [A]);
    const { rows: [comment] } = await env.admin.query<{ id: string }>(
      `INSERT INTO comments (tenant_id, document_id, author_id, body) VALUES ($1, $2, $3, 'will move') RETURNING id::text`, [A, doc.id, doc.author]);
    const at = await instant();
    await tx(async (c) => {
      const moved = await newDocument(c, A, doc.author);
      await c.query(`UPDATE comments SET document_id = $3 WHERE tenant_id = $1 AND id = $2`, [A, comment.id, moved]);
    });
    const result = await restore({ lsn: at.lsn }, 'in-place');
    expect(result.swap?.by).toBe('difference');
    expect(result.swap?.rows).toMatchObject({ comments: { inserted: 0, updated: 1, deleted: 0 }, documents: { inserted: 0, updated: 0, deleted: 1 } });
    expect(await env.contents(A)).toEqual(at.contents);
  });

  it('falls back to replacing the whole tenant when a unique value moved between rows, and is still exact', async () => {
    const email = 'moving@a.example';
    await tx(async (c) => {
      await newUser(c, A, email);
    });
    const at = await instant();
    // After the target the address goes to a new row: restoring the old row first would clash with it midway.
    await env.admin.query(`DELETE FROM users WHERE tenant_id = $1 AND email = $2`, [A, email]);
    await tx(async (c) => {
      await newUser(c, A, email);
    });
    const result = await restore({ lsn: at.lsn }, 'in-place');
    expect(result.swap?.by).toBe('whole tenant');
    expect(await env.contents(A)).toEqual(at.contents);
  });

  it('a snapshot taken with a write in flight, then a restore just after it: nothing applied twice or lost', async () => {
    const inflight = new Client({ connectionString: env.app.adminUrl });
    const busy = new Client({ connectionString: env.app.adminUrl });
    await Promise.all([inflight.connect(), busy.connect()]);
    let stop = false;
    try {
      await inflight.query('BEGIN');
      const author = await newUser(inflight, A, 'inflight@a.example');
      await inflight.query(`INSERT INTO audit_events (tenant_id, actor_id, action) VALUES ($1, $2, 'inflight')`, [A, author]);
      const { rows } = await inflight.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
      // Tenant A keeps committing while the snapshot is taken: each lands on one side of it or the other.
      const busyWriting = (async () => {
        while (!stop) await busy.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'busy')`, [A]);
      })();
      const taken = await env.snapshot(A);
      stop = true;
      await busyWriting;
      // Started before the snapshot, committed after it: invisible to it, so replay must apply it, once.
      expect(taken.xip).toContain(rows[0].xid);
      await inflight.query('COMMIT');
    } finally {
      stop = true;
      await Promise.all([inflight.end(), busy.end()]);
    }
    await env.admin.query(`UPDATE users SET full_name = 'after snapshot' WHERE tenant_id = $1 AND email = 'inflight@a.example'`, [A]);
    const now = await instant();
    const result = await restore({ lsn: now.lsn });
    expect(await env.contents(A, result.schema)).toEqual(now.contents);
  });

  it('does not bring back a subject erased after the snapshot', async () => {
    const before = await instant();
    const email = 'writer@a.example';
    expect(before.contents.users.some((r) => r.includes(email))).toBe(true);
    // What an erasure leaves behind: the subject's rows gone, and a tombstone naming its hash.
    const requestId = randomUUID();
    await env.catalogPool.query(`INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by, params) VALUES ($1, 'erasure', $2, $3, 'test', jsonb_build_object('subjectHash', $3::text))`, [requestId, A, `erasure:${A}:${requestId}`]);
    await env.catalogPool.query(`INSERT INTO tombstones (tenant_id, subject_hash, request_id) VALUES ($1, $2, $3)`, [A, hashSubject(env.restoreDeps.subjectHashSecret, A, email), requestId]);
    const result = await restore({ lsn: before.lsn });
    expect(result.erasedSubjects).toBe(1);
    const restored = await env.contents(A, result.schema);
    expect(restored.users.some((r) => r.includes(email))).toBe(false);
    expect(restored.users.length).toBe(before.contents.users.length - 1);
  });

  it('refuses to restore an erased tenant', async () => {
    await env.snapshot(C);
    const requestId = randomUUID();
    await env.catalogPool.query(`INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by, params) VALUES ($1, 'erasure', $2, $3, 'test', jsonb_build_object('subjectHash', $3::text))`, [requestId, C, `erasure:${C}:${requestId}`]);
    await env.catalogPool.query(`INSERT INTO tombstones (tenant_id, subject_hash, request_id) VALUES ($1, NULL, $2)`, [C, requestId]);
    const error = await runRestore(env.restoreDeps, env.map, { restoreId: randomUUID(), tenantId: C, target: { time: new Date().toISOString() }, mode: 'staging' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('tenant_erased');
  });

  it('refuses a snapshot whose stored objects were altered or swapped, committing none of their rows', async () => {
    const taken = await env.snapshot(B);
    const { rows: [{ lsn }] } = await env.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const bucket = taken.bucket;
    const key = (table: string) => `${taken.prefix}tables/${table}.csv.part-00000.gz.esdk`;
    const original = Buffer.from(await (await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key('audit_events') }))).Body!.transformToByteArray());
    const sse = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: env.config.S3_SSE_KMS_KEY_ID };
    const schemas: string[] = [];
    const restoreB = async () => {
      const restoreId = randomUUID();
      schemas.push(stagingSchemaName(restoreId));
      return runRestore(env.restoreDeps, env.map, { restoreId, tenantId: B, target: { lsn }, mode: 'staging' }).then(() => null, (e: unknown) => e as Error);
    };
    try {
      const flipped = Buffer.from(original);
      flipped[Math.floor(flipped.length / 2)] ^= 0x40;
      await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key('audit_events'), Body: flipped, ...sse }));
      const altered = await restoreB();
      expect(altered?.name).toBe('ExportVerificationError');
      expect(altered?.message).toContain('audit_events');

      // A genuine object of the same snapshot (same encryption context) in the wrong place.
      await env.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key('audit_events'), CopySource: `${bucket}/${key('comments')}`, ...sse }));
      const swapped = await restoreB();
      expect(swapped?.name).toBe('ExportVerificationError');
      expect(swapped?.message).toMatch(/does not match the manifest/);
      const { rows: [{ n }] } = await env.admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${q(schemas[1])}.audit_events`);
      expect(Number(n)).toBe(0);
    } finally {
      for (const schema of schemas) await dropStaging(env.appPool, schema);
    }
  });

  it('answers bad targets with a bad-input error that says why', async () => {
    const codeOf = async (target: { time: string } | { lsn: string }) => {
      const error = await runRestore(env.restoreDeps, env.map, { restoreId: randomUUID(), tenantId: A, target, mode: 'staging' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).kind).toBe('bad_input');
      return (error as DomainError).code;
    };
    expect(await codeOf({ time: '2001-01-01T00:00:00Z' })).toBe('restore_target_before_oldest_snapshot');
    expect(await codeOf({ time: new Date(Date.now() + 3_600_000).toISOString() })).toBe('restore_target_in_future');
    expect(await codeOf({ lsn: 'FFFF/0' })).toBe('restore_target_in_future');
    expect(await codeOf({ lsn: 'yesterday' })).toBe('invalid_restore_target');
  });
});
