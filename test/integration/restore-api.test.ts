import { Client, escapeIdentifier as q } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { exportsPrefixOfTenant } from '../../src/export/layout';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import { ServiceArchiver, startServiceArchiver } from '../helpers/pitr-service';
import { startTestService, TestService } from '../helpers/service';

describe('restore through the API, Temporal and the CLI', () => {
  let service: TestService;
  let admin: Client;
  let operator: string;
  let tenantId: string;
  let archive: ServiceArchiver;
  const config = loadConfig();
  const s3 = createS3Client(config);

  beforeAll(async () => {
    service = await startTestService('restore_api', { seed: 1003, tenants: 2, rowsPerTenant: 60 });
    operator = await service.api.token('operator');
    tenantId = service.demo.tenants[0].id;
    admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    archive = await startServiceArchiver(service, config, s3);
  }, 180_000);

  afterAll(async () => {
    await archive?.close();
    for (const t of service?.demo.tenants ?? []) await deletePrefix(s3, config.S3_EXPORT_BUCKET, exportsPrefixOfTenant(t.id)).catch(() => undefined);
    s3.destroy();
    await admin?.end();
    await service?.close();
  });

  const call = (method: string, path: string, token: string, body?: unknown) => service.api.call(token, method, path, body);
  const finished = (id: string) => service.api.finished(operator, id);

  const users = async (schema = 'public') =>
    (await admin.query<{ r: string }>(`SELECT x::text AS r FROM ${q(schema)}.users x WHERE tenant_id = $1 ORDER BY id`, [tenantId])).rows.map((r) => r.r);

  it('takes a snapshot, then restores to an LSN into staging: 202, succeeded, contents as they were', async () => {
    const snap = await call('POST', `/v1/tenants/${tenantId}/snapshots`, operator, {});
    expect(snap.status).toBe(202);
    expect((await finished(snap.body.id as string)).status).toBe('succeeded');

    await admin.query(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, 'api@restore.example', 'API')`, [tenantId]);
    const expected = await users();
    const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await admin.query(`DELETE FROM users WHERE tenant_id = $1 AND email = 'api@restore.example'`, [tenantId]);

    const created = await call('POST', `/v1/tenants/${tenantId}/restores`, operator, { target: { lsn: rows[0].lsn }, mode: 'staging' });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ kind: 'restore', tenantId, status: 'queued' });
    const done = await finished(created.body.id as string);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const schema = (done.result as { schema: string }).schema;
    expect(await users(schema)).toEqual(expected);
  }, 120_000);

  it('answers bad targets with a 4xx naming the problem, before starting anything', async () => {
    const post = (body: unknown) => call('POST', `/v1/tenants/${tenantId}/restores`, operator, body);
    const future = await post({ target: { time: new Date(Date.now() + 3_600_000).toISOString() } });
    expect([future.status, future.body.code]).toEqual([400, 'restore_target_in_future']);
    const early = await post({ target: { time: '2001-01-01T00:00:00Z' } });
    expect([early.status, early.body.code]).toEqual([400, 'restore_target_before_oldest_snapshot']);
    const garbage = await post({ target: { lsn: 'not-an-lsn' } });
    expect(garbage.status).toBe(400);
    const noTarget = await post({ mode: 'in-place' });
    expect(noTarget.status).toBe(400);
  });

  it('lists, promotes and drops staging restores; wrong ids answer 400/404, wrong states 409', async () => {
    const at = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
    const expected = await users();
    const stage = async () => {
      const created = await call('POST', `/v1/tenants/${tenantId}/restores`, operator, { target: { lsn: at }, mode: 'staging' });
      const done = await finished(created.body.id as string);
      expect(done.status).toBe('succeeded');
      return { id: done.id, schema: (done.result as { schema: string }).schema };
    };
    const first = await stage();
    const second = await stage();
    await admin.query(`UPDATE users SET full_name = 'after the target' WHERE tenant_id = $1`, [tenantId]);

    const listed = await call('GET', `/v1/tenants/${tenantId}/restores`, operator);
    expect(listed.status).toBe(200);
    const rows = listed.body as unknown as Array<{ restoreId: string; state: string; schema: string }>;
    expect(rows.slice(0, 2).map((r) => [r.restoreId, r.state, r.schema])).toEqual([[second.id, 'staged', second.schema], [first.id, 'staged', first.schema]]);

    const base = `/v1/tenants/${tenantId}/restores`;
    expect((await call('POST', `${base}/not-a-uuid/promote`, operator)).body.code).toBe('invalid_restore_id');
    expect((await call('POST', `${base}/00000000-0000-4000-8000-000000000000/promote`, operator)).status).toBe(404);
    const otherTenant = service.demo.tenants[1].id;
    expect((await call('POST', `/v1/tenants/${otherTenant}/restores/${first.id}/promote`, operator)).status).toBe(404);
    expect((await call('DELETE', `${base}/${first.id}`, await service.api.token('auditor'))).status).toBe(403);

    const promote = await call('POST', `${base}/${first.id}/promote`, operator);
    expect(promote.status).toBe(202);
    expect(promote.body).toMatchObject({ kind: 'restore', tenantId });
    const promoted = await finished(promote.body.id as string);
    expect(promoted.error).toBeNull();
    expect(await users()).toEqual(expected);
    expect((await call('POST', `${base}/${first.id}/promote`, operator)).body.code).toBe('restore_promoted');

    const dropped = await call('DELETE', `${base}/${second.id}`, operator);
    expect([dropped.status, dropped.body.state]).toEqual([200, 'dropped']);
    expect((await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = ANY ($1)', [[first.schema, second.schema]])).rowCount).toBe(0);
    expect((await call('POST', `${base}/${second.id}/promote`, operator)).body.code).toBe('restore_dropped');
  }, 180_000);

  /** The built CLI, run asynchronously: the API and worker it talks to live in this process and must keep running. */
  const cliAsync = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(PROJECT_ROOT, 'bin', 'compliance-ops.js'), ...args], {
      env: { ...process.env, COMPLIANCE_OPS_API_URL: service.api.url, COMPLIANCE_OPS_TOKEN: operator }, timeout: 120_000,
    }, (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });

  it('restores from the CLI with --to <time> --wait', async () => {
    const out = await cliAsync(['restore', tenantId, '--to', new Date().toISOString(), '--wait']);
    expect(out.stdout).toMatch(/staged in schema restore_/);
    expect(out.status).toBe(0);
    const schema = /schema (restore_[a-z0-9]+)/.exec(out.stdout)![1];
    expect(await users(schema)).toEqual(await users());
    const restoreId = /restore ([0-9a-f-]{36}):/.exec(out.stdout)![1];
    expect(out.stdout).toContain(`compliance-ops restore promote ${tenantId} ${restoreId}`);
    const list = await cliAsync(['restore', 'list', tenantId]);
    expect(list.stdout).toMatch(new RegExp(`${restoreId}\\s+staged\\s+${schema}`));
    const drop = await cliAsync(['restore', 'drop', tenantId, restoreId]);
    expect([drop.status, drop.stdout]).toEqual([0, `restore ${restoreId}: ${schema} dropped\n`]);
    const bad = await cliAsync(['restore', tenantId, '--to', 'last tuesday']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--to takes an LSN');
  }, 120_000);
});
