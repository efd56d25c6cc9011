import { randomUUID } from 'node:crypto';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { escapeLiteral } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantSummary } from '../../src/demo/generator';
import { decryptExport } from '../../src/export/decrypt';
import { ExportResult } from '../../src/export/export.types';
import { runExport } from '../../src/export/run-export';
import { listKeys } from '../../src/s3/prefix';
import { ExportTestEnv, openExportTestEnv } from '../helpers/export-env';

const TABLES = ['users', 'projects', 'documents', 'comments', 'invoices', 'audit_events'];

let env: ExportTestEnv;
let tenants: TenantSummary[];
/** tenant prefixes this file wrote under; removed at the end */
const written = new Set<string>();

beforeAll(async () => {
  env = await openExportTestEnv('export', { seed: 7, tenants: 3, rowsPerTenant: 1500 });
  tenants = env.tenants;
});

afterAll(async () => {
  await env?.close([...written].map((tenant) => `tenants/${tenant}/exports/test-`));
});

async function exportTo(scope: Parameters<typeof runExport>[2]['scope'], format: 'csv' | 'jsonl' = 'csv', chunkBytes?: number) {
  const requestId = `test-${randomUUID()}`;
  written.add(scope.tenantId);
  const result = await runExport(env.deps, env.map, { requestId, scope, format }, { chunkBytes });
  const { out, summary } = await env.decrypt(result, requestId);
  return { requestId, result, out, summary };
}

/** What the superuser's own COPY gives, as a sorted list of CSV rows (header first). */
async function referenceRows(sql: string): Promise<string[]> {
  await env.admin.query(`SET TimeZone = 'UTC'`);
  const chunks: Buffer[] = [];
  for await (const chunk of env.admin.query(copyTo(`COPY (${sql}) TO STDOUT WITH (FORMAT csv, HEADER)`))) chunks.push(chunk as Buffer);
  return csvRows(Buffer.concat(chunks));
}

/** Splits CSV into rows (fields may hold newlines), header first, the rest sorted: COPY order is not guaranteed. */
function csvRows(data: Buffer): string[] {
  const rows: string[] = [];
  for (let start = 0; start < data.length; ) {
    const end = nextRowEnd(data, start);
    rows.push(data.subarray(start, end).toString('utf8'));
    start = end;
  }
  return [rows[0], ...rows.slice(1).sort()];
}

/** The end of the row starting at `start` (quote-aware), for csvRows. */
function nextRowEnd(data: Buffer, start: number): number {
  let quoted = false;
  for (let i = start; i < data.length; i++) {
    if (data[i] === 0x22) quoted = !quoted;
    else if (data[i] === 0x0a && !quoted) return i + 1;
  }
  return data.length;
}

async function fileRows(out: string, table: string, format = 'csv'): Promise<string[]> {
  return csvRows(await readFile(join(out, 'tables', `${table}.${format}`)));
}

describe('tenant export', () => {
  let exported: Awaited<ReturnType<typeof exportTo>>;
  beforeAll(async () => {
    exported = await exportTo({ tenantId: tenants[1].id });
  });

  it('decrypts to files equal, row for row, to the superuser COPY of the same tenant', async () => {
    const tenant = escapeLiteral(tenants[1].id);
    for (const table of TABLES) {
      const expected = await referenceRows(`SELECT * FROM ${table} WHERE tenant_id = ${tenant}`);
      expect(expected.length - 1, table).toBeGreaterThan(0);
      expect(await fileRows(exported.out, table), table).toEqual(expected);
    }
    expect(await fileRows(exported.out, 'tenants')).toEqual(await referenceRows(`SELECT * FROM tenants WHERE id = ${tenant}`));
  });

  it('holds no other tenant id and no global table', async () => {
    const files = await readdir(join(exported.out, 'tables'));
    expect(files.sort()).toEqual([...TABLES, 'tenants'].map((t) => `${t}.csv`).sort());
    for (const file of files) {
      const text = await readFile(join(exported.out, 'tables', file), 'utf8');
      for (const other of [tenants[0], tenants[2]]) expect(text.includes(other.id), file).toBe(false);
    }
  });

  it('reports the rows and a consistent snapshot in the result and summary', async () => {
    const expectedRows = tenants[1].rows;
    expect(exported.result.rows).toBe(expectedRows);
    expect(exported.result.consistent).toBe(true);
    expect(exported.summary.scope).toEqual({ kind: 'tenant' });
    const manifest = JSON.parse(await readFile(join(exported.out, 'manifest.json'), 'utf8'));
    expect(manifest.snapshots).toHaveLength(1);
    expect(manifest.snapshots[0].lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const schema = JSON.parse(await readFile(join(exported.out, 'schema.json'), 'utf8'));
    expect(schema.tables.map((t: { name: string }) => t.name).sort()).toEqual([...TABLES, 'tenants'].sort());
  });

  it('stores objects that are not plaintext', async () => {
    const keys = await listKeys(env.s3, exported.result.bucket, exported.result.prefix);
    const users = keys.find((k) => k.includes('tables/users.csv.part-00000'))!;
    const object = await env.s3.send(new GetObjectCommand({ Bucket: exported.result.bucket, Key: users }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(object.ServerSideEncryption).toBe('aws:kms');
    expect(bytes.includes('email,full_name')).toBe(false);
    expect(bytes.includes('tenant_id')).toBe(false);
  });

  it('refuses to decrypt under another encryption context', async () => {
    const location = `s3://${exported.result.bucket}/${exported.result.prefix}`;
    await expect(decryptExport(location, join(env.work, 'wrong-tenant'), env.deps, { tenantId: tenants[0].id })).rejects.toThrow(
      /manifest\.json\.esdk: cannot be decrypted: encryption context "tenant" is "[0-9a-f-]+", expected/,
    );
    await expect(decryptExport(location, join(env.work, 'wrong-request'), env.deps, { requestId: 'other-request' })).rejects.toThrow(
      /encryption context "request"/,
    );
  });

  it('fails to decrypt when one byte of a chunk object is flipped', async () => {
    const copy = join(env.work, 'tampered');
    const keys = await listKeys(env.s3, exported.result.bucket, exported.result.prefix);
    for (const key of keys) {
      const object = await env.s3.send(new GetObjectCommand({ Bucket: exported.result.bucket, Key: key }));
      const path = join(copy, key.slice(exported.result.prefix.length));
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, Buffer.from(await object.Body!.transformToByteArray()));
    }
    const victim = join(copy, 'tables', 'comments.csv.part-00000.gz.esdk');
    const bytes = await readFile(victim);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await writeFile(victim, bytes);
    await expect(decryptExport(copy, join(env.work, 'tampered-out'), env.deps)).rejects.toThrow(/comments\.csv\.part-00000\.gz\.esdk: cannot be decrypted/);
    await expect(readdir(join(env.work, 'tampered-out', 'tables'))).resolves.not.toContain('comments.csv');
  });

  it('fails to decrypt when a chunk is swapped for another chunk of the same export', async () => {
    const copy = join(env.work, 'tampered');
    const chunk = (table: string) => join(copy, 'tables', `${table}.csv.part-00000.gz.esdk`);
    await writeFile(chunk('comments'), await readFile(chunk('projects')));
    await expect(decryptExport(copy, join(env.work, 'swapped-out'), env.deps)).rejects.toThrow(
      /comments\.csv\.part-00000\.gz\.esdk: the object does not match the manifest/,
    );
  });

  it('fails when the manifest signature is altered', async () => {
    const copy = join(env.work, 'tampered');
    const jws = (await readFile(join(copy, 'manifest.jws'), 'utf8')).split('.');
    const payload = JSON.parse(Buffer.from(jws[1], 'base64url').toString());
    payload.manifest.sha256 = '0'.repeat(64);
    await writeFile(join(copy, 'manifest.jws'), [jws[0], Buffer.from(JSON.stringify(payload)).toString('base64url'), jws[2]].join('.'));
    await expect(decryptExport(copy, join(env.work, 'resigned-out'), env.deps)).rejects.toThrow(/manifest\.jws: the signature does not verify/);
  });
});

describe('subject export', () => {
  it('contains exactly the subject’s rows in every table that references them', async () => {
    const tenant = tenants[0].id;
    const { rows } = await env.admin.query(
      `SELECT u.id, u.email FROM users u WHERE u.tenant_id = $1 AND EXISTS (SELECT 1 FROM comments c WHERE c.tenant_id = u.tenant_id AND c.author_id = u.id) ORDER BY u.id LIMIT 1`,
      [tenant],
    );
    const { id, email } = rows[0] as { id: string; email: string };
    const exported = await exportTo({ tenantId: tenant, subject: { column: 'email', value: email } });
    const t = escapeLiteral(tenant);
    const expected: Record<string, string> = {
      users: `SELECT * FROM users WHERE tenant_id = ${t} AND id = ${id}`,
      projects: `SELECT * FROM projects WHERE tenant_id = ${t} AND owner_id = ${id}`,
      documents: `SELECT * FROM documents WHERE tenant_id = ${t} AND author_id = ${id}`,
      comments: `SELECT * FROM comments WHERE tenant_id = ${t} AND author_id = ${id}`,
      invoices: `SELECT * FROM invoices WHERE tenant_id = ${t} AND billed_user_id = ${id}`,
      audit_events: `SELECT * FROM audit_events WHERE tenant_id = ${t} AND actor_id = ${id}`,
    };
    for (const [table, sql] of Object.entries(expected)) {
      expect(await fileRows(exported.out, table), table).toEqual(await referenceRows(sql));
    }
    expect(await readdir(join(exported.out, 'tables'))).not.toContain('tenants.csv');
    const manifest = await readFile(join(exported.out, 'manifest.json'), 'utf8');
    expect(manifest.includes(email)).toBe(false);
    expect(JSON.parse(manifest).scope).toMatchObject({ kind: 'subject', column: 'email', value: { algorithm: 'HMAC-SHA256' } });
  });

  it('treats a value with quotes, backslashes and SQL as data', async () => {
    const value = `o'brien\\"; DROP TABLE users; --' OR '1'='1`;
    const exported = await exportTo({ tenantId: tenants[0].id, subject: { column: 'email', value } });
    expect(exported.result.rows).toBe(0);
    const { rows } = await env.admin.query(`SELECT count(*)::int AS n FROM users`);
    expect(rows[0].n).toBeGreaterThan(0);
  });
});

describe('edge cases', () => {
  it('exports a tenant without rows as zero-row files with headers', async () => {
    const empty = randomUUID();
    await env.admin.query(`INSERT INTO tenants (id, name, plan_id, tier) VALUES ($1, 'Empty Ltd', 'free', 'free')`, [empty]);
    const exported = await exportTo({ tenantId: empty });
    for (const table of TABLES) {
      const rows = await fileRows(exported.out, table);
      expect(rows, table).toHaveLength(1);
      expect(rows[0].startsWith('tenant_id,id,')).toBe(true);
    }
    const counts = Object.fromEntries(exported.summary.files.map((f) => [f.path, f.rows]));
    expect(counts).toEqual({ 'schema.json': null, 'tables/tenants.csv': 1, ...Object.fromEntries(TABLES.map((t) => [`tables/${t}.csv`, 0])) });
  });

  it('refuses an unknown tenant before writing anything', async () => {
    const requestId = `test-${randomUUID()}`;
    const tenant = randomUUID();
    await expect(runExport(env.deps, env.map, { requestId, scope: { tenantId: tenant }, format: 'csv' })).rejects.toMatchObject({ code: 'tenant_not_found' });
    expect(await listKeys(env.s3, env.config.S3_EXPORT_BUCKET, `tenants/${tenant}/`)).toEqual([]);
  });

  it('exports JSON Lines with one object per row', async () => {
    const exported = await exportTo({ tenantId: tenants[2].id }, 'jsonl');
    const text = await readFile(join(exported.out, 'tables', 'documents.jsonl'), 'utf8');
    const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { tenant_id: string; metadata: unknown });
    expect(lines).toHaveLength(tenants[2].rowsByTable.documents);
    expect(lines.every((row) => row.tenant_id === tenants[2].id && typeof row.metadata === 'object')).toBe(true);
  });

  it('splits large tables into several chunks that decrypt back into one file', async () => {
    const exported: { result: ExportResult; out: string } = await exportTo({ tenantId: tenants[1].id }, 'csv', 64 * 1024);
    const manifest = JSON.parse(await readFile(join(exported.out, 'manifest.json'), 'utf8'));
    const documents = manifest.files.find((f: { path: string }) => f.path === 'tables/documents.csv');
    expect(documents.chunks.length).toBeGreaterThan(1);
    const tenant = escapeLiteral(tenants[1].id);
    expect(await fileRows(exported.out, 'documents')).toEqual(await referenceRows(`SELECT * FROM documents WHERE tenant_id = ${tenant}`));
  });
});
