import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api';
import { credentialDigest } from '../../src/http/catalog-rate-limit';
import { startTestService, TestService } from '../helpers/service';

const RATE_PER_SECOND = 2;
const BURST = 6;

/*
 * The per-credential limit lives in the catalog, so it holds across API
 * replicas: two instances on one catalog, hammered at once with one token,
 * accept together what one bucket allows.
 */
describe('the per-credential rate limit across API replicas', () => {
  let service: TestService;
  let second: INestApplication;
  let urls: string[];
  let catalog: Client;

  beforeAll(async () => {
    Object.assign(process.env, { RATE_LIMIT_PER_SECOND: String(RATE_PER_SECOND), RATE_LIMIT_BURST: String(BURST) });
    service = await startTestService('api_rate', { seed: 5, tenants: 2, rowsPerTenant: 20 }, { worker: false });
    second = await createApi();
    await second.listen(0, '127.0.0.1');
    urls = [service.api.url, (await second.getUrl()).replace('[::1]', '127.0.0.1')];
    catalog = new Client({ connectionString: service.catalog.adminUrl });
    await catalog.connect();
  });
  afterAll(async () => {
    delete process.env.RATE_LIMIT_PER_SECOND;
    delete process.env.RATE_LIMIT_BURST;
    await catalog?.end();
    await second?.close();
    await service?.close();
  });

  const get = (url: string, token: string) => fetch(`${url}/v1/requests?limit=1`, { headers: { authorization: `Bearer ${token}` } });

  it('accepts at most one bucket\'s worth over both instances, and answers the rest 429 with Retry-After', async () => {
    const token = await service.api.token('operator');
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => get(urls[i % 2], token)));
    const elapsedSeconds = (Date.now() - started) / 1000;

    const accepted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(accepted.length + refused.length).toBe(40);
    // Two per-process buckets would accept 2 × BURST at once; the shared one, BURST plus what refilled meanwhile.
    expect(accepted.length).toBeGreaterThanOrEqual(BURST);
    expect(accepted.length).toBeLessThanOrEqual(BURST + Math.ceil(elapsedSeconds * RATE_PER_SECOND));
    const body = (await refused[0].json()) as { code: string; details: { retryAfterSeconds: number }; requestId: string };
    expect(body).toMatchObject({ code: 'rate_limited', requestId: expect.any(String) });
    const retryAfter = Number(refused[0].headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(1 / RATE_PER_SECOND));
    expect(body.details.retryAfterSeconds).toBe(retryAfter);

    // Another credential has its own bucket; after Retry-After, the first is served again, on either instance.
    const other = await service.api.token('auditor');
    expect((await fetch(`${urls[1]}/v1/audit-events?limit=1`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    expect((await get(urls[1], token)).status).toBe(200);
  });

  it('keeps only a hash of each credential in the catalog', async () => {
    const token = await service.api.token('tenant-admin', service.demo.tenants[0].id);
    expect((await get(urls[0], token)).status).toBe(200);
    const { rows } = await catalog.query<{ credential_sha256: string }>('SELECT credential_sha256 FROM rate_limit_buckets');
    expect(rows.map((r) => r.credential_sha256)).toContain(credentialDigest(token));
    const dump = JSON.stringify((await catalog.query('SELECT * FROM rate_limit_buckets')).rows);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.split('.')[2]);
  });
});
