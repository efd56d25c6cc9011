import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from '../helpers/api';
import { startTestService, TestService } from '../helpers/service';

describe('the HTTP API skeleton', () => {
  let service: TestService;
  let api: TestApi;
  beforeAll(async () => {
    // Its own seeded database: the API validates retention policies against the data map at start.
    service = await startTestService('api', undefined, { worker: false });
    api = service.api;
  });
  afterAll(async () => {
    await service?.close();
  });

  const get = (path: string, token?: string) =>
    fetch(`${api.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers liveness and readiness with every dependency checked', async () => {
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    expect(Object.keys(body.checks).sort()).toEqual(['catalog', 'kms', 'postgres', 's3', 'temporal']);
  });

  it('serves the OpenAPI document, the docs page and Prometheus metrics without a token', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/v1/requests', '/v1/requests/{id}']));
    expect((await get('/docs')).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('compliance_ops_http_requests_total');
    expect(metrics).toContain('# TYPE compliance_ops_requests gauge');
  });

  it.each([
    ['no token', undefined, 'missing_token'],
    ['a garbage token', 'abc.def.ghi', 'invalid_token'],
  ])('refuses a v1 route with %s: 401 and a stable code', async (_what, token, code) => {
    const response = await get('/v1/requests', token);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code, requestId: expect.any(String) });
  });

  it('lets an auditor read nothing but what auditors read', async () => {
    const response = await get('/v1/requests', await api.token('auditor'));
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'forbidden_role' });
  });

  it('answers a malformed request id with 400, an unknown one with 404', async () => {
    const token = await api.token('operator');
    expect((await get('/v1/requests/not-a-uuid', token)).status).toBe(400);
    const missing = await get(`/v1/requests/${crypto.randomUUID()}`, token);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'request_not_found' });
  });

  it('refuses malformed JSON and oversized bodies with 4xx, never 500', async () => {
    const token = await api.token('operator');
    const post = (body: string) => fetch(`${api.url}/v1/requests`, {
      method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    const malformed = await post('{"tenant": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'bad_request' });
    const huge = await post(JSON.stringify({ pad: 'x'.repeat(200_000) }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 'body_too_large' });
  });

  it('unknown routes are a JSON 404', async () => {
    const response = await get('/v1/nothing-here', await api.token('operator'));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not_found' });
  });
});
