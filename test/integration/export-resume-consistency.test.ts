import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantSummary } from '../../src/demo/generator';
import { ExportCursor, ExportProgress, ExportResult } from '../../src/export/export.types';
import { CURSOR_KEY, exportPrefix } from '../../src/export/layout';
import { planExport } from '../../src/export/plan';
import { runExport } from '../../src/export/run-export';
import { openExportSnapshot } from '../../src/export/snapshot';
import { proveUnchanged } from '../../src/export/unchanged-proof';
import { objectExists } from '../../src/s3/prefix';
import { ExportTestEnv, openExportTestEnv } from '../helpers/export-env';

/*
 * A retried export reads at a new snapshot (the first attempt's died with
 * it). These tests stop a first attempt right after its first table is
 * durable, as a crash would (its snapshot goes away with it), then retry.
 */

let env: ExportTestEnv;
let whale: TenantSummary;
let small: TenantSummary;

beforeAll(async () => {
  env = await openExportTestEnv('export_consistent_resume', { seed: 1043, tenants: 2, rowsPerTenant: 60_000 });
  [whale, small] = [...env.tenants].sort((a, b) => b.rows - a.rows);
});

afterAll(async () => {
  await env?.close(whale ? [`tenants/${whale.id}/exports/rc-`] : []);
});

const request = (requestId: string) => ({ requestId, scope: { tenantId: whale.id }, format: 'csv' as const });

async function etag(key: string): Promise<string | undefined> {
  return (await env.s3.send(new HeadObjectCommand({ Bucket: env.config.S3_EXPORT_BUCKET, Key: key }))).ETag;
}

/** Runs a first attempt until its first table is durable, then stops it as a crash would. */
async function crashAfterFirstTable(requestId: string): Promise<{ cursor: ExportCursor; etags: Map<string, string | undefined> }> {
  const stop = new AbortController();
  let cursor: ExportCursor | undefined;
  const first = runExport(env.deps, env.map, request(requestId), {
    parallelTables: 1,
    signal: stop.signal,
    onCursor(c) {
      if (c.completed.length === 0) return;
      cursor ??= c;
      stop.abort(new Error('worker crashed'));
    },
  });
  await expect(first).rejects.toThrow(/worker crashed|aborted/i);
  expect(cursor?.completed).toHaveLength(1);
  const prefix = exportPrefix(whale.id, requestId);
  expect(await objectExists(env.s3, env.config.S3_EXPORT_BUCKET, prefix + CURSOR_KEY), 'the durable cursor').toBe(true);
  const etags = new Map<string, string | undefined>();
  for (const chunk of cursor!.completed[0].chunks) etags.set(prefix + chunk.key, await etag(prefix + chunk.key));
  return { cursor: cursor!, etags };
}

async function decrypted(result: ExportResult, requestId: string) {
  const { out, manifest } = await env.decrypt(result, requestId, { tenantId: whale.id, requestId });
  return { manifest, table: (name: string) => readFile(join(out, 'tables', `${name}.csv`), 'utf8') };
}

/** One transaction writing the tenant's row and a new row in every other table, each naming `marker`. */
async function writeEverywhere(marker: string): Promise<void> {
  await env.admin.query(
    `WITH t AS (UPDATE tenants SET name = name WHERE id = $1 RETURNING id),
          u AS (INSERT INTO users (tenant_id, email, full_name) SELECT id, $2, 'Between Attempts' FROM t RETURNING tenant_id, id),
          p AS (INSERT INTO projects (tenant_id, owner_id, name) SELECT tenant_id, id, $2 FROM u RETURNING tenant_id, id, owner_id),
          d AS (INSERT INTO documents (tenant_id, project_id, author_id, title, body) SELECT tenant_id, id, owner_id, $2, $2 FROM p RETURNING tenant_id, id, author_id),
          c AS (INSERT INTO comments (tenant_id, document_id, author_id, body) SELECT tenant_id, id, author_id, $2 FROM d RETURNING 1),
          i AS (INSERT INTO invoices (tenant_id, billed_user_id, billing_name, billing_email, billing_address, amount_cents, currency)
                SELECT tenant_id, id, $2, $2, $2, 1, 'EUR' FROM u RETURNING 1)
     INSERT INTO audit_events (tenant_id, actor_id, action) SELECT tenant_id, id, $2 FROM u`,
    [whale.id, marker],
  );
}

const MARKED_TABLES = ['users', 'projects', 'documents', 'comments', 'invoices', 'audit_events'];

/** Puts the tenant back as it was, children first. */
async function removeMarked(marker: string): Promise<void> {
  await env.admin.query('DELETE FROM audit_events WHERE action = $1', [marker]);
  await env.admin.query('DELETE FROM invoices WHERE billing_name = $1', [marker]);
  await env.admin.query('DELETE FROM comments WHERE body = $1', [marker]);
  await env.admin.query('DELETE FROM documents WHERE title = $1', [marker]);
  await env.admin.query('DELETE FROM projects WHERE name = $1', [marker]);
  await env.admin.query('DELETE FROM users WHERE email = $1', [marker]);
}

function expectSaneProgress(progress: ExportProgress[]): void {
  const percents = progress.map((p) => p.percent ?? -1);
  expect(percents.every((p) => p >= 0 && p <= 99), `percents ${percents.join(',')}`).toBe(true);
  expect(percents, 'never backwards').toEqual([...percents].sort((a, b) => a - b));
}

describe('a retried export is one consistent instant', () => {
  it('keeps the first attempt\'s durable chunks when nothing changed in between, and says so in the manifest', async () => {
    const requestId = `rc-quiet-${randomUUID()}`;
    const { cursor, etags } = await crashAfterFirstTable(requestId);

    // No heartbeat cursor: the retry finds the durable one next to the chunks.
    const progress: ExportProgress[] = [];
    const result = await runExport(env.deps, env.map, request(requestId), { onProgress: (p) => progress.push(p) });

    const keptPath = cursor.completed[0].path;
    for (const [key, before] of etags) expect(await etag(key), `${key} rewritten`).toBe(before);
    expect(progress.map((p) => p.table)).not.toContain(keptPath);
    expect(result.consistent).toBe(true);
    expect(result.rows).toBe(whale.rows);
    expectSaneProgress(progress);
    // The kept table counts as done from the start: the retry does not start at 0 %.
    expect(progress[0].percent).toBeGreaterThan(0);
    expect(progress.some((p) => p.restarted)).toBe(false);

    const { manifest } = await decrypted(result, requestId);
    expect(manifest.consistent).toBe(true);
    expect(manifest.snapshots).toHaveLength(1);
    expect(manifest.resumes).toEqual([{ from: cursor.snapshots[0], kept: [keptPath], proof: 'row-versions' }]);
    expect(manifest.snapshots[0]).not.toEqual(cursor.snapshots[0]);
    expect(await objectExists(env.s3, env.config.S3_EXPORT_BUCKET, result.prefix + CURSOR_KEY), 'cursor left after the manifest').toBe(false);
  });

  it('starts over when a write committed in between touched a finished table: the write is in every table, whole', async () => {
    const requestId = `rc-written-${randomUUID()}`;
    const marker = `between-attempts-${randomUUID()}@example.com`;
    const { cursor, etags } = await crashAfterFirstTable(requestId);
    await writeEverywhere(marker);
    try {
      const progress: ExportProgress[] = [];
      // The heartbeat's cursor, as Temporal would hand it to the retry; the durable one says the same.
      const result = await runExport(env.deps, env.map, request(requestId), { resume: cursor, onProgress: (p) => progress.push(p) });

      expect(result.consistent).toBe(true);
      expect(result.rows).toBe(whale.rows + MARKED_TABLES.length);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every((p) => p.restarted)).toBe(true);
      expectSaneProgress(progress);
      expect(progress.map((p) => p.table)).toContain(cursor.completed[0].path);
      for (const [key, before] of etags) expect(await etag(key).catch(() => 'deleted'), `${key} kept`).not.toBe(before);

      const { manifest, table } = await decrypted(result, requestId);
      expect(manifest.snapshots).toHaveLength(1);
      expect(manifest.resumes).toBeUndefined();
      for (const name of MARKED_TABLES) expect((await table(name)).includes(marker), name).toBe(true);
    } finally {
      await removeMarked(marker);
    }
  });

  it('resumes when the write in between touched only tables the first attempt had not finished', async () => {
    const requestId = `rc-elsewhere-${randomUUID()}`;
    const marker = `elsewhere-${randomUUID()}@example.com`;
    const { cursor, etags } = await crashAfterFirstTable(requestId);
    const keptPath = cursor.completed[0].path;
    expect(keptPath).not.toBe('tables/users.csv');
    await env.admin.query(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, $2, 'Elsewhere')`, [whale.id, marker]);
    try {
      const result = await runExport(env.deps, env.map, request(requestId), { resume: cursor });
      for (const [key, before] of etags) expect(await etag(key), `${key} rewritten`).toBe(before);
      expect(result.consistent).toBe(true);
      expect(result.rows).toBe(whale.rows + 1);
      const { manifest, table } = await decrypted(result, requestId);
      expect(manifest.resumes?.[0]?.kept).toEqual([keptPath]);
      expect((await table('users')).includes(marker)).toBe(true);
    } finally {
      await removeMarked(marker);
    }
  });
});

describe('the proof that kept files are unchanged', () => {
  const copyOf = (name: string) => planExport(env.map, { tenantId: small.id }, { format: 'csv' }).find((c) => c.table.name === name)!;
  const file = (rows: number) => ({ path: '', table: null, rows, bytes: 0, sha256: '', snapshot: 0, chunks: [] });

  /** Takes a snapshot, runs `change`, then asks whether `table` (with `rows` rows at the first snapshot) is unchanged at a second one. */
  async function verdictAfter(table: string, change: (client: Client) => Promise<unknown>) {
    const count = async () => Number((await env.admin.query(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1`, [small.id])).rows[0].n);
    const rows = await count();
    const first = await openExportSnapshot(env.appPool, env.map, small.id);
    await first.release();
    await change(env.admin);
    const second = await openExportSnapshot(env.appPool, env.map, small.id);
    try {
      return await proveUnchanged(env.appPool, second, first.info, small.id, [{ copy: copyOf(table), file: file(rows) }]);
    } finally {
      await second.release();
    }
  }

  it('holds when only other tenants and other tables were written', async () => {
    const verdict = await verdictAfter('comments', (c) => c.query(`UPDATE users SET full_name = full_name WHERE tenant_id IN ($1, $2)`, [small.id, whale.id]));
    expect(verdict).toEqual({ unchanged: true });
  });

  it('fails on an update, even one that changes no value', async () => {
    const verdict = await verdictAfter('comments', (c) => c.query(`UPDATE comments SET body = body WHERE tenant_id = $1 AND id = (SELECT min(id) FROM comments WHERE tenant_id = $1)`, [small.id]));
    expect(verdict).toMatchObject({ unchanged: false, reason: expect.stringMatching(/1 rows written/) });
  });

  it('fails on a delete, which leaves no row version behind to see', async () => {
    let deleted: Record<string, unknown> | undefined;
    const verdict = await verdictAfter('audit_events', async (c) => {
      deleted = (await c.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND id = (SELECT max(id) FROM audit_events WHERE tenant_id = $1) RETURNING *`, [small.id])).rows[0];
    });
    expect(verdict).toMatchObject({ unchanged: false, reason: expect.stringMatching(/rows now/) });
    await env.admin.query(`INSERT INTO audit_events SELECT * FROM json_populate_record(null::audit_events, $1)`, [JSON.stringify(deleted)]);
  });

  it('fails for a subject export, which it does not try to prove', async () => {
    const subjectCopy = planExport(env.map, { tenantId: small.id, subject: { column: 'email', value: 'x@example.com' } }, { format: 'csv' })[0];
    const snapshot = await openExportSnapshot(env.appPool, env.map, small.id);
    try {
      expect(await proveUnchanged(env.appPool, snapshot, snapshot.info, small.id, [{ copy: subjectCopy, file: file(0) }])).toMatchObject({ unchanged: false });
    } finally {
      await snapshot.release();
    }
  });
});
