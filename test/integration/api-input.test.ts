import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, TestService } from '../helpers/service';

/**
 * Input the fuzzer found, or that sits next to what it found: text Postgres
 * cannot store (a NUL byte) in a query string or a body is the caller's
 * mistake, a 400, and nothing half-done is left behind.
 */
describe('input the database cannot take', () => {
  let service: TestService;
  let operator: string;
  let tenant: string;

  beforeAll(async () => {
    service = await startTestService('api_input', { seed: 2, tenants: 2, rowsPerTenant: 20 });
    operator = await service.api.token('operator');
    tenant = service.demo.tenants[1].id;
  });
  afterAll(async () => {
    await service?.close();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${service.api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it.each([
    // The one schemathesis found: GET /v1/audit-events?tenantId=%3A%F3%9D%88%BF%00Z answered 500.
    '/v1/audit-events?tenantId=%3A%F3%9D%88%BF%00Z',
    '/v1/requests?tenantId=a%00b',
    '/v1/receipts?tenantId=a%00b',
  ])('a NUL byte in a query tenant id is a 400: %s', async (path) => {
    expect(await call('GET', path)).toMatchObject({ status: 400, body: { code: 'invalid_query' } });
  });

  it.each([
    ['an erasure reason', () => [`/v1/tenants/${tenant}/erasures`, { reason: 'off\u0000boarding', graceSeconds: 3600 }]],
    ['an export subject', () => [`/v1/tenants/${tenant}/exports`, { subject: { column: 'email', value: 'a\u0000@example.com' } }]],
  ])('a NUL character in %s is a 400, and no request is recorded', async (_what, make) => {
    const [path, body] = make() as [string, unknown];
    expect(await call('POST', path, body)).toMatchObject({ status: 400, body: { code: 'invalid_characters' } });
    const catalog = new Client({ connectionString: service.catalog.adminUrl });
    await catalog.connect();
    const { rows } = await catalog.query('SELECT count(*)::int AS n FROM requests');
    await catalog.end();
    expect(rows[0].n).toBe(0);
  });

  it('a NUL character in a legal hold reason is a 400, and no hold is placed', async () => {
    expect(await call('PUT', `/v1/tenants/${tenant}/legal-hold`, { reason: 'litigation\u0000' }))
      .toMatchObject({ status: 400, body: { code: 'invalid_characters' } });
    expect((await call('GET', `/v1/tenants/${tenant}/legal-hold`)).status).toBe(404);
  });
});
