import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/messages';
import { Config, loadConfig } from '../../src/config';
import { TenantSummary } from '../../src/demo/generator';
import { DEMO_TABLES } from '../../src/demo/tenant-plan';
import { CursorStore } from '../../src/export/cursor-store';
import { decryptExport } from '../../src/export/decrypt';
import { exportEncryptionContext } from '../../src/export/encrypt';
import { exportPrefix } from '../../src/export/layout';
import { EXPORT_SESSION_SETTINGS } from '../../src/export/snapshot';
import { kmsKeyring } from '../../src/kms/keyring';
import { createKmsClient } from '../../src/kms/kms';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { deletePrefix, listMultipartUploads } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { activityAttempt } from '../helpers/workflow-history';
import { startTestService, TestService } from '../helpers/service';
import { startWorkerProcess, until, WorkerProcess } from '../helpers/worker-process';

/*
 * A whale of ~600,000 rows (~145 MB of CSV): its audit_events chunk is big
 * enough, gzipped and encrypted, to go to S3 as a multipart upload, and the
 * export runs for several seconds, so the kill lands mid-upload. Seeding takes
 * ~15 s; the retry starts when the 20 s heartbeat timeout notices the dead worker.
 */
const SHAPE = { seed: 1041, tenants: 2, rowsPerTenant: 320_000, whaleShare: 0.95 };

describe('a worker killed in the middle of an export', () => {
  let service: TestService;
  let config: Config;
  let s3: S3Client;
  let kms: KMSClient;
  let whale: TenantSummary;
  let operator: string;
  let work: string;
  const workers: WorkerProcess[] = [];
  /** only what this file wrote: other files may use the same seed's tenant ids */
  const prefixes: string[] = [];

  beforeAll(async () => {
    service = await startTestService('export_crash', SHAPE, { worker: false });
    config = loadConfig();
    s3 = createS3Client(config);
    kms = createKmsClient(config);
    whale = service.demo.tenants[0];
    operator = await service.api.token('operator');
    work = await mkdtemp(join(tmpdir(), 'export-crash-'));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    for (const prefix of prefixes) await deletePrefix(s3, config.S3_EXPORT_BUCKET, prefix);
    await service?.close();
    s3?.destroy();
    kms?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const request = async (id: string) => (await service.api.call(operator, 'GET', `/v1/requests/${id}`)).body as unknown as RequestView;

  /** A worker of its own, then an export of the whale for it to die in. */
  async function exportOnNewWorker(): Promise<{ id: string; prefix: string }> {
    workers.push(startWorkerProcess());
    const created = await service.api.call(operator, 'POST', `/v1/tenants/${whale.id}/exports`, { format: 'csv' });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const prefix = exportPrefix(whale.id, id);
    prefixes.push(prefix);
    return { id, prefix };
  }

  /** A second worker takes the export over: it must finish there, on a retried activity. */
  async function finishedOnSecondWorker(id: string): Promise<RequestView> {
    workers.push(startWorkerProcess());
    const done = await until('the export to finish on the second worker', 50_000, async () => {
      const view = await request(id);
      return FINAL_STATUSES.has(view.status) ? view : undefined;
    }, workers);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(await activityAttempt(workflowIds.export(whale.id, id), 'runExport')).toBeGreaterThanOrEqual(2);
    return done;
  }

  /** The finished export decrypted into `work`: its summary, manifest and rows per exported file. */
  async function decrypted(id: string, done: RequestView) {
    const result = done.result as { bucket: string; prefix: string; rows: number };
    const out = join(work, id);
    const summary = await decryptExport(`s3://${result.bucket}/${result.prefix}`, out, { config, s3, kms }, { tenantId: whale.id, requestId: id });
    return {
      result, out, summary,
      manifest: JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')),
      rows: Object.fromEntries(summary.files.filter((f) => f.path !== 'schema.json').map((f) => [f.path, f.rows])),
    };
  }

  it('retries on a second worker and finishes with a correct archive, one consistent instant, and no stray multipart uploads', async () => {
    const { id, prefix } = await exportOnNewWorker();

    // Kill at the worst moment: rows are moving and S3 holds a half-written object.
    const atKill = await until('rows moving and an open multipart upload', 30_000, async () => {
      const view = await request(id);
      expect(FINAL_STATUSES.has(view.status), `export ended before the kill: ${view.status}`).toBe(false);
      if (!((view.progress?.rows as number | undefined) ?? 0)) return undefined;
      const uploads = await listMultipartUploads(s3, config.S3_EXPORT_BUCKET, prefix);
      return uploads.length > 0 ? { view, uploads } : undefined;
    }, workers);
    const killed = await workers[0].crash();
    expect(killed.signal).toBe('SIGKILL');
    expect(atKill.view.status).toBe('running');
    // Between the crash and the retry, one transaction writes the tenant's row and three tables: the archive must hold all of it.
    const marker = `between-attempts-${randomUUID()}@example.com`;
    await superuser((client) => client.query(
      `WITH t AS (UPDATE tenants SET name = name WHERE id = $1 RETURNING id),
            u AS (INSERT INTO users (tenant_id, email, full_name) SELECT id, $2, 'Between Attempts' FROM t RETURNING tenant_id, id),
            p AS (INSERT INTO projects (tenant_id, owner_id, name) SELECT tenant_id, id, $2 FROM u RETURNING 1)
       INSERT INTO audit_events (tenant_id, actor_id, action) SELECT tenant_id, id, $2 FROM u`,
      [whale.id, marker],
    ));

    const done = await finishedOnSecondWorker(id);

    // Soft, so a stray upload does not hide whether the archive itself is right.
    expect(await listMultipartUploads(s3, config.S3_EXPORT_BUCKET, prefix), 'multipart uploads left under the export').toEqual([]);

    const { result, out, manifest, rows: exportedRows } = await decrypted(id, done);
    const expectedRows = await superuser((client) => rowCounts(client, whale.id));
    expect(exportedRows).toEqual(expectedRows);
    expect(result.rows).toBe(whale.rows + 3);
    expect(manifest.consistent).toBe(true);
    expect(manifest.snapshots).toHaveLength(1);
    for (const table of ['users', 'projects', 'audit_events']) {
      expect((await readFile(join(out, 'tables', `${table}.csv`), 'utf8')).includes(marker), table).toBe(true);
    }

    const users = await superuser((client) => copyCsv(client, 'users', whale.id));
    expect(sortedCsv(await readFile(join(out, 'tables', 'users.csv'), 'utf8'))).toEqual(sortedCsv(users));
  });

  it('resumes on the second worker from the tables the first made durable, when nothing was written in between', async () => {
    // Only this test's workers poll the queue, so the one killed is the one exporting.
    await Promise.all(workers.map((w) => w.stop()));
    const { id, prefix } = await exportOnNewWorker();
    const cursors = new CursorStore({
      s3, bucket: config.S3_EXPORT_BUCKET, prefix, sseKmsKeyId: config.S3_SSE_KMS_KEY_ID,
      keyring: kmsKeyring(config, config.KMS_EXPORT_KEY_ARN), context: exportEncryptionContext(whale.id, id),
    });

    // Kill once a table is durable (the cursor next to the chunks says so) while another is still uploading.
    const durable = await until('a durable table and an open multipart upload', 30_000, async () => {
      const view = await request(id);
      expect(FINAL_STATUSES.has(view.status), `export ended before the kill: ${view.status}`).toBe(false);
      const cursor = await cursors.load();
      if (!cursor?.completed.length) return undefined;
      return (await listMultipartUploads(s3, config.S3_EXPORT_BUCKET, prefix)).length > 0 ? cursor : undefined;
    }, workers);
    const etags = new Map<string, string | undefined>();
    for (const chunk of durable.completed.flatMap((f) => f.chunks)) {
      etags.set(chunk.key, (await s3.send(new HeadObjectCommand({ Bucket: config.S3_EXPORT_BUCKET, Key: prefix + chunk.key }))).ETag);
    }
    expect((await workers.at(-1)!.crash()).signal).toBe('SIGKILL');

    const done = await finishedOnSecondWorker(id);
    for (const [key, before] of etags) {
      expect((await s3.send(new HeadObjectCommand({ Bucket: config.S3_EXPORT_BUCKET, Key: prefix + key }))).ETag, `${key} rewritten`).toBe(before);
    }

    const { summary, manifest, rows: exportedRows } = await decrypted(id, done);
    expect(summary.consistent).toBe(true);
    expect(manifest.snapshots).toHaveLength(1);
    expect(manifest.resumes).toHaveLength(1);
    for (const file of durable.completed) expect(manifest.resumes[0].kept).toContain(file.path);
    expect(exportedRows).toEqual(await superuser((client) => rowCounts(client, whale.id)));
  });

  /** The superuser sees every tenant's rows (no RLS), in the export's time zone and date style. */
  async function superuser<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: service.app.adminUrl });
    await client.connect();
    try {
      await client.query(`SELECT set_config('TimeZone', $1, false), set_config('DateStyle', $2, false)`,
        [EXPORT_SESSION_SETTINGS.TimeZone, EXPORT_SESSION_SETTINGS.DateStyle]);
      return await fn(client);
    } finally {
      await client.end();
    }
  }
});

const tenantFilter = (table: string) => (table === 'tenants' ? 'id' : 'tenant_id');

/** Rows per exported file, as the superuser counts them; the global `plans` is never exported. */
async function rowCounts(client: Client, tenantId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of DEMO_TABLES) {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${escapeIdentifier(table)} WHERE ${tenantFilter(table)} = $1`, [tenantId]);
    counts[`tables/${table}.csv`] = Number(rows[0].n);
  }
  return counts;
}

/** What `psql -c "\copy (SELECT * FROM t WHERE tenant_id = …) TO STDOUT WITH CSV HEADER"` prints. */
async function copyCsv(client: Client, table: string, tenantId: string): Promise<string> {
  const sql = `COPY (SELECT * FROM ${escapeIdentifier(table)} WHERE ${tenantFilter(table)} = ${escapeLiteral(tenantId)}) TO STDOUT WITH (FORMAT csv, HEADER)`;
  const parts: Buffer[] = [];
  for await (const part of client.query(copyTo(sql))) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Header, then rows in sorted order: COPY without ORDER BY may return rows in any order. */
function sortedCsv(csv: string): { header: string; rows: string[] } {
  const [header, ...rows] = csv.trimEnd().split('\n');
  return { header, rows: rows.sort() };
}
