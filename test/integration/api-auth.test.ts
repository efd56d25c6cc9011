import { generateKeyPairSync } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeysRepository } from '../../src/auth/api-keys';
import { loadConfig } from '../../src/config';
import { cli } from '../helpers/cli';
import { startTestService, TestService } from '../helpers/service';

/** Credentials end to end: an identity provider's JWTs, API keys, and the per-credential rate limit. */

const BURST = 5;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('credentials at the API', () => {
  let service: TestService;
  let idp: Server;
  let catalog: Pool;
  let keys: ApiKeysRepository;
  let tenantA: string;
  let tenantB: string;

  const get = async (path: string, credential?: string) => {
    const response = await fetch(`${service.api.url}${path}`, { headers: credential ? { authorization: `Bearer ${credential}` } : {} });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
  };

  const idpToken = (alg: 'RS256' | 'ES256', claims: Record<string, unknown>, kid?: string) => {
    const config = loadConfig();
    return new SignJWT(claims).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).setSubject('svc-support-desk')
      .setAudience(config.JWT_AUDIENCE).setIssuer(config.JWT_ISSUER).setExpirationTime('5m')
      .sign(alg === 'RS256' ? rsa.privateKey : ec.privateKey);
  };

  beforeAll(async () => {
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'idp-rsa', alg: 'RS256', use: 'sig' }] };
    idp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    Object.assign(process.env, {
      JWT_JWKS_URL: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`,
      JWT_PUBLIC_KEYS: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      RATE_LIMIT_PER_SECOND: '0.5',
      RATE_LIMIT_BURST: String(BURST),
    });
    service = await startTestService('api_auth', { seed: 3, tenants: 3, rowsPerTenant: 20 });
    [tenantA, tenantB] = service.demo.tenants.slice(1, 3).map((t) => t.id);
    catalog = new Pool({ connectionString: service.catalog.serviceUrl, max: 2 });
    keys = new ApiKeysRepository(catalog);
  });
  afterAll(async () => {
    await catalog?.end();
    await service?.close();
    await new Promise((resolve) => idp?.close(resolve));
  });

  it('accepts RS256 tokens from the JWKS URL and ES256 tokens from the PEM keys, and refuses alg none', async () => {
    expect((await get('/v1/requests', await idpToken('RS256', { role: 'operator' }, 'idp-rsa'))).status).toBe(200);
    expect((await get('/v1/requests', await idpToken('ES256', { role: 'operator' }, 'any-kid'))).status).toBe(200);
    const config = loadConfig();
    const none = new UnsecuredJWT({ role: 'operator' }).setSubject('x').setAudience(config.JWT_AUDIENCE)
      .setIssuer(config.JWT_ISSUER).setExpirationTime('5m').encode();
    expect(await get('/v1/requests', none)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
  });

  it('fences an identity provider\'s tenant admin to its tenant', async () => {
    const token = await idpToken('RS256', { role: 'tenant-admin', tenant: tenantA }, 'idp-rsa');
    expect((await get(`/v1/requests?tenantId=${tenantB}`, token)).status).toBe(200);
    const other = await fetch(`${service.api.url}/v1/tenants/${tenantB}/exports`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
    });
    expect(other.status).toBe(404);
  });

  it('takes API keys with their role and tenant, and stops taking a revoked one at once', async () => {
    const operator = await keys.create({ name: 'billing-service', role: 'operator', createdBy: 'test' });
    const tenantAdmin = await keys.create({ name: 'tenant-portal', role: 'tenant-admin', tenantId: tenantA, createdBy: 'test' });
    const auditor = await keys.create({ name: 'auditor-bot', role: 'auditor', createdBy: 'test' });
    expect((await get('/v1/datamap', operator.key)).status).toBe(200);
    expect(await get('/v1/datamap', auditor.key)).toMatchObject({ status: 403, body: { code: 'forbidden_role' } });
    expect((await get('/v1/audit-events', auditor.key)).status).toBe(200);
    const listed = await get(`/v1/requests?tenantId=${tenantB}`, tenantAdmin.key);
    expect(listed.status).toBe(200);
    expect((listed.body.items as Array<{ tenantId: string }>).every((r) => r.tenantId === tenantA)).toBe(true);

    expect(await keys.revoke(operator.view.id)).toBe(true);
    expect(await get('/v1/datamap', operator.key)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
    // A key that looks right but was never issued.
    expect((await get('/v1/datamap', `coak_${'x'.repeat(43)}`)).status).toBe(401);
  });

  it('records an API key caller as api-key:<id> in the audit trail', async () => {
    const { key, view } = await keys.create({ name: 'exporter', role: 'operator', createdBy: 'test' });
    const created = await fetch(`${service.api.url}/v1/tenants/${tenantA}/exports`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ tables: ['users'] }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const trail = await get(`/v1/audit-events?requestId=${id}`, (await keys.create({ name: 'a', role: 'auditor', createdBy: 't' })).key);
    expect((trail.body.items as Array<{ event: string; actor: string }>)[0]).toMatchObject({ event: 'requested', actor: `api-key:${view.id}` });
    // Let it finish: a workflow left running on this file's task queue would wait there forever.
    // (Read from the catalog: this file's rate limit is too tight to poll the API.)
    const status = async () => (await catalog.query<{ status: string }>('SELECT status FROM requests WHERE id = $1', [id])).rows[0].status;
    for (let i = 0; i < 300 && !['succeeded', 'failed'].includes(await status()); i++) await new Promise((resolve) => setTimeout(resolve, 200));
  });

  it('the CLI prints a new key once, stores only its hash, and lists and revokes keys', async () => {
    const env = { CATALOG_DATABASE_URL: service.catalog.serviceUrl };
    const created = cli(['api-key', 'create', '--role', 'tenant-admin', '--tenant', tenantA, '--name', 'cli-test'], env);
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^coak_[A-Za-z0-9_-]{43}$/);
    const { rows } = await catalog.query<{ id: string; key_sha256: string }>("SELECT id, key_sha256 FROM api_keys WHERE name = 'cli-test'");
    expect(JSON.stringify(rows)).not.toContain(key);
    expect((await keys.principalFor(key))?.tenantId).toBe(tenantA);

    expect(cli(['api-key', 'create', '--role', 'tenant-admin'], env).status).not.toBe(0);
    const listed = cli(['api-key', 'list'], env);
    expect(listed.stdout).toContain(rows[0].id);
    expect(listed.stdout).not.toContain(key);
    expect(cli(['api-key', 'revoke', rows[0].id], env).status).toBe(0);
    expect(await keys.principalFor(key)).toBeUndefined();
  });

  it('limits each credential to its bucket: 429 rate_limited with Retry-After, other credentials unaffected', async () => {
    const token = await service.api.token('operator');
    const results = [];
    for (let i = 0; i < BURST + 2; i++) results.push(await get('/v1/requests?limit=1', token));
    expect(results.slice(0, BURST).map((r) => r.status)).toEqual(Array(BURST).fill(200));
    const limited = results[BURST];
    expect(limited).toMatchObject({ status: 429, body: { code: 'rate_limited', requestId: expect.any(String) } });
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await get('/v1/requests?limit=1', await service.api.token('auditor'))).status).toBe(403);
    // Public routes carry no credential and no limit.
    expect((await get('/healthz')).status).toBe(200);
  });
});
