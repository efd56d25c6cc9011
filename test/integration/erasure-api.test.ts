import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES, RequestStatus, RequestView } from '../../src/requests/request.types';
import { cliChild } from '../helpers/cli';
import { startTestService, TestService } from '../helpers/service';

const TENANT_TABLES = ['users', 'projects', 'documents', 'comments', 'audit_events'];

describe('erasure through the API, Temporal, receipts and the transparency log', () => {
  let service: TestService;
  let operator: string;
  let admin: Client;

  beforeAll(async () => {
    service = await startTestService('erasure_api', { seed: 11, tenants: 6, rowsPerTenant: 300 });
    operator = await service.api.token('operator');
    admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await service?.close();
  });

  const call = async (method: string, path: string, body?: unknown, token = operator, headers: Record<string, string> = {}) => {
    const response = await fetch(`${service.api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('application/json');
    return { status: response.status, body: (json ? JSON.parse(text) : { text }) as Record<string, unknown> };
  };

  async function until(id: string, statuses: RequestStatus[]): Promise<RequestView> {
    for (let i = 0; i < 400; i++) {
      const request = (await call('GET', `/v1/requests/${id}`)).body as unknown as RequestView;
      if (statuses.includes(request.status)) return request;
      if (FINAL_STATUSES.has(request.status)) throw new Error(`request ended ${request.status}: ${JSON.stringify(request.error)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`request ${id} never reached ${statuses.join('/')}`);
  }

  const count = async (table: string, tenantId: string) =>
    Number((await admin.query(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1`, [tenantId])).rows[0].n);
  const fingerprintOthers = async (tenantId: string) => {
    const parts: string[] = [];
    for (const table of [...TENANT_TABLES, 'invoices', 'tenants', 'plans']) {
      const where = table === 'plans' ? '' : table === 'tenants' ? 'WHERE id <> $1' : 'WHERE tenant_id <> $1';
      const { rows } = await admin.query(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM ${table} t ${where}`,
        table === 'plans' ? [] : [tenantId]);
      parts.push(`${table}:${rows[0].h}`);
    }
    return parts.join(',');
  };

  it('erases a whole tenant: zero rows left, invoices anonymized, others untouched, a receipt that verifies offline', async () => {
    const tenantId = service.demo.tenants[1].id;
    const before = await fingerprintOthers(tenantId);
    const invoices = await count('invoices', tenantId);
    const created = await call('POST', `/v1/tenants/${tenantId}/erasures`, { reason: 'customer off-boarding, contract ended' });
    expect(created.status).toBe(202);
    const done = await until(created.body.id as string, ['succeeded']);
    expect(done.receiptId).toEqual(expect.any(String));

    for (const table of TENANT_TABLES) expect(await count(table, tenantId)).toBe(0);
    expect(await count('invoices', tenantId)).toBe(invoices);
    const { rows } = await admin.query(`SELECT count(*) AS n FROM invoices WHERE tenant_id = $1
      AND (billed_user_id IS NOT NULL OR billing_name <> '[redacted]' OR billing_email NOT LIKE 'hmac:%')`, [tenantId]);
    expect(Number(rows[0].n)).toBe(0);
    expect(await fingerprintOthers(tenantId)).toBe(before);

    const receipt = await call('GET', `/v1/receipts/${done.receiptId}`);
    expect(receipt.status).toBe(200);
    const proof = await call('GET', `/v1/transparency/proof/${done.receiptId}`);
    const jwks = await fetch(`${service.api.url}/.well-known/jwks.json`).then((r) => r.json());
    const dir = mkdtempSync(join(tmpdir(), 'receipt-'));
    writeFileSync(join(dir, 'receipt.jws'), receipt.body.jws as string);
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    writeFileSync(join(dir, 'proof.tlog-proof'), proof.body.tlogProof as string);
    const ok = await cliChild(['verify', join(dir, 'receipt.jws'), '--public-key', join(dir, 'jwks.json'), '--proof', join(dir, 'proof.tlog-proof')]);
    expect(ok.stdout + ok.stderr).not.toMatch(/invalid/);
    expect(ok.status).toBe(0);

    const jws = receipt.body.jws as string;
    const payload = JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ kind: 'erasure', tenantId, scope: { type: 'tenant' }, verification: { result: 'passed' } });
    const users = (payload.tables as Array<{ table: string; rows: number }>).find((t) => t.table === 'public.users');
    expect(users?.rows).toBe(service.demo.tenants[1].rowsByTable.users);

    const tampered = `${jws.slice(0, -3)}${jws.at(-3) === 'A' ? 'B' : 'A'}${jws.slice(-2)}`;
    writeFileSync(join(dir, 'receipt.jws'), tampered);
    const bad = await cliChild(['verify', join(dir, 'receipt.jws'), '--public-key', join(dir, 'jwks.json')]);
    expect(bad.status).toBe(1);

    const again = await call('POST', `/v1/tenants/${tenantId}/erasures`, { reason: 'customer off-boarding, again' });
    expect(again.body.id).toBe(done.id);
  });

  it('waits out the grace period and can be cancelled during it, leaving everything in place', async () => {
    const tenantId = service.demo.tenants[2].id;
    const users = await count('users', tenantId);
    const created = await call('POST', `/v1/tenants/${tenantId}/erasures`, { reason: 'requested by the customer', graceSeconds: 3600 });
    await until(created.body.id as string, ['waiting_grace']);
    const cancel = await call('POST', `/v1/erasures/${created.body.id}/cancel`);
    expect(cancel.status).toBe(202);
    await until(created.body.id as string, ['cancelled']);
    expect(await count('users', tenantId)).toBe(users);
    const again = await call('POST', `/v1/erasures/${created.body.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('not_cancellable');
  });

  it('blocks under a legal hold, says so, and resumes when the hold is lifted (subject erasure)', async () => {
    const tenant = service.demo.tenants[3];
    const { rows } = await admin.query<{ id: string; email: string }>(
      'SELECT id, email FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 1', [tenant.id]);
    const hold = await call('PUT', `/v1/tenants/${tenant.id}/legal-hold`, { reason: 'litigation hold 2026-17' });
    expect(hold.status).toBe(200);
    const created = await call('POST', `/v1/tenants/${tenant.id}/erasures`, { reason: 'Art. 17 request', subject: { column: 'email', value: rows[0].email } });
    const blocked = await until(created.body.id as string, ['blocked_legal_hold']);
    expect(blocked.progress).toMatchObject({ legalHold: { reason: 'litigation hold 2026-17' } });
    expect(await count('users', tenant.id)).toBe(tenant.rowsByTable.users);

    expect((await call('DELETE', `/v1/tenants/${tenant.id}/legal-hold`)).status).toBe(204);
    const done = await until(created.body.id as string, ['succeeded']);
    expect(await count('users', tenant.id)).toBe(tenant.rowsByTable.users - 1);
    const left = await admin.query('SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND email = $2', [tenant.id, rows[0].email]);
    expect(Number(left.rows[0].n)).toBe(0);
    const receipt = await call('GET', `/v1/receipts/${done.receiptId}`);
    expect(JSON.stringify(receipt.body)).not.toContain(rows[0].email);
  });

  it.each([
    ['an unknown tenant', () => `/v1/tenants/${crypto.randomUUID()}/erasures`, { reason: 'valid reason' }, 404, 'tenant_not_found'],
    ['a malformed tenant id', () => '/v1/tenants/1%20OR%201=1/erasures', { reason: 'valid reason' }, 400, 'invalid_tenant_id'],
    ['no reason', () => `/v1/tenants/${service.demo.tenants[4].id}/erasures`, {}, 400, 'invalid_body'],
    ['a subject column outside the data map', () => `/v1/tenants/${service.demo.tenants[4].id}/erasures`,
      { reason: 'valid reason', subject: { column: 'full_name', value: 'x' } }, 400, 'unknown_subject_column'],
    ['a negative grace period', () => `/v1/tenants/${service.demo.tenants[4].id}/erasures`, { reason: 'valid reason', graceSeconds: -1 }, 400, 'invalid_body'],
  ])('refuses %s with a clear 4xx and erases nothing', async (_what, path, body, status, code) => {
    const tenantId = service.demo.tenants[4].id;
    const users = await count('users', tenantId);
    const response = await call('POST', path(), body);
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(await count('users', tenantId)).toBe(users);
  });

  it('answers a reused Idempotency-Key with another body with 409, and erases nothing', async () => {
    const key = `erase-${Date.now()}`;
    const [a, b] = [service.demo.tenants[5].id, service.demo.tenants[4].id];
    const first = await call('POST', `/v1/tenants/${a}/erasures`, { reason: 'first use of the key', graceSeconds: 3600 }, operator, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const replay = await call('POST', `/v1/tenants/${a}/erasures`, { reason: 'first use of the key', graceSeconds: 3600 }, operator, { 'idempotency-key': key });
    expect(replay.body.id).toBe(first.body.id);
    const users = await count('users', b);
    const reused = await call('POST', `/v1/tenants/${b}/erasures`, { reason: 'another tenant, same key' }, operator, { 'idempotency-key': key });
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(await count('users', b)).toBe(users);
    await call('POST', `/v1/erasures/${first.body.id}/cancel`);
    await until(first.body.id as string, ['cancelled']);
  });

  it('lets auditors read receipts and proofs but not start an erasure', async () => {
    const auditor = await service.api.token('auditor');
    expect((await call('POST', `/v1/tenants/${service.demo.tenants[4].id}/erasures`, { reason: 'not allowed' }, auditor)).status).toBe(403);
    expect((await call('GET', '/v1/receipts', undefined, auditor)).status).toBe(200);
    const checkpoint = await call('GET', '/v1/transparency/checkpoint', undefined, auditor);
    expect(checkpoint.status).toBe(200);
    expect(checkpoint.body.text).toMatch(/^compliance-ops\.local\/receipts\n\d+\n/);
  });
});
