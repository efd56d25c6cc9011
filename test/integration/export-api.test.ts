import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { cliChild } from '../helpers/cli';
import { startTestService, TestService } from '../helpers/service';

describe('export through the API, Temporal and S3', () => {
  let service: TestService;
  let operator: string;
  let tenantId: string;
  let otherTenantId: string;

  beforeAll(async () => {
    service = await startTestService('export_api');
    operator = await service.api.token('operator');
    [tenantId, otherTenantId] = service.demo.tenants.slice(1, 3).map((t) => t.id);
  });
  afterAll(async () => {
    await service?.close();
  });

  const call = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${service.api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  async function finished(id: string): Promise<RequestView> {
    for (let i = 0; i < 240; i++) {
      const { body } = await call('GET', `/v1/requests/${id}`, operator);
      if (FINAL_STATUSES.has((body as unknown as RequestView).status)) return body as unknown as RequestView;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`request ${id} did not finish`);
  }

  it('exports a tenant end to end: 202, succeeded, download links, and files equal to psql COPY', async () => {
    const created = await call('POST', `/v1/tenants/${tenantId}/exports`, operator, { format: 'csv' });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ kind: 'export', tenantId, status: 'queued' });
    const done = await finished(created.body.id as string);
    expect(done.status).toBe('succeeded');

    const metrics = await fetch(`${service.api.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/compliance_ops_requests\{kind="export",status="succeeded"\} [1-9]/);

    const download = await call('GET', `/v1/exports/${done.id}/download`, operator);
    expect(download.status).toBe(200);
    expect(download.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*manifest\.json\.esdk\?X-Amz-/);
    expect(Date.parse(download.body.expiresAt as string)).toBeGreaterThan(Date.now());

    const result = done.result as { bucket: string; prefix: string };
    const out = mkdtempSync(join(tmpdir(), 'export-'));
    const decrypted = await cliChild(['decrypt', `s3://${result.bucket}/${result.prefix}`, '--out', out]);
    expect(decrypted.stderr + decrypted.stdout).toContain('verified');
    expect(decrypted.status).toBe(0);

    const admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ csv: string }>(
        `SELECT string_agg(line, E'\\n' ORDER BY id) AS csv FROM (
           SELECT u.id, concat_ws(',', u.tenant_id, u.id) AS line FROM users u WHERE u.tenant_id = $1) s`, [tenantId]);
      const exported = readFileSync(join(out, 'tables', 'users.csv'), 'utf8').trim().split('\n').slice(1)
        .map((line) => line.split(',').slice(0, 2).join(','));
      expect(exported.sort()).toEqual(rows[0].csv.split('\n').sort());
    } finally {
      await admin.end();
    }
    const all = readFileSync(join(out, 'tables', 'users.csv'), 'utf8');
    expect(all).not.toContain(otherTenantId);
  });

  it('answers a repeated Idempotency-Key with the first request, and a different body with 409', async () => {
    const key = `k-${Date.now()}`;
    const first = await call('POST', `/v1/tenants/${tenantId}/exports`, operator, { tables: ['users'] }, { 'idempotency-key': key });
    const again = await call('POST', `/v1/tenants/${tenantId}/exports`, operator, { tables: ['users'] }, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const other = await call('POST', `/v1/tenants/${tenantId}/exports`, operator, { tables: ['projects'] }, { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_key_reused');
    await finished(first.body.id as string);
  });

  it.each([
    ['an unknown tenant', () => `/v1/tenants/${crypto.randomUUID()}/exports`, {}, 404, 'tenant_not_found'],
    ['a malformed tenant id', () => `/v1/tenants/not-a-uuid'%3B--/exports`, {}, 400, 'invalid_tenant_id'],
    ['an unknown table', () => `/v1/tenants/${tenantId}/exports`, { tables: ['pg_authid'] }, 400, 'unknown_table'],
    ['a global table', () => `/v1/tenants/${tenantId}/exports`, { tables: ['plans'] }, 400, 'unknown_table'],
    ['a subject column outside the data map', () => `/v1/tenants/${tenantId}/exports`, { subject: { column: 'full_name', value: 'x' } }, 400, 'unknown_subject_column'],
    ['an unknown field', () => `/v1/tenants/${tenantId}/exports`, { tenantId: '00000000-0000-0000-0000-000000000000' }, 400, 'invalid_body'],
    ['a bad format', () => `/v1/tenants/${tenantId}/exports`, { format: 'xml' }, 400, 'invalid_body'],
  ])('refuses %s with a clear 4xx and starts nothing', async (_what, path, body, status, code) => {
    const before = await call('GET', `/v1/requests?limit=200`, operator);
    const response = await call('POST', path(), operator, body);
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    const after = await call('GET', `/v1/requests?limit=200`, operator);
    expect((after.body.items as unknown[]).length).toBe((before.body.items as unknown[]).length);
  });

  it('fences a tenant admin to its own tenant, and keeps auditors out', async () => {
    const admin = await service.api.token('tenant-admin', otherTenantId);
    const response = await call('POST', `/v1/tenants/${tenantId}/exports`, admin, {});
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('tenant_not_found');
    const auditor = await service.api.token('auditor');
    expect((await call('POST', `/v1/tenants/${tenantId}/exports`, auditor, {})).status).toBe(403);
    const own = await call('POST', `/v1/tenants/${otherTenantId}/exports`, admin, { tables: ['projects'] });
    expect(own.status).toBe(202);
    const listed = await call('GET', '/v1/requests', admin);
    expect((listed.body.items as RequestView[]).every((r) => r.tenantId === otherTenantId)).toBe(true);
    await finished(own.body.id as string);
  });
});
