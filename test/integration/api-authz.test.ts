import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { startTestService, TestService } from '../helpers/service';

/**
 * The authorization matrix of the README, checked route by route against the
 * running API. The routes come from /openapi.json at run time: a route the
 * README does not list fails here, and so does a README row for a route that
 * is gone.
 */

type Cell = 'public' | 'yes' | 'no' | 'own tenant';
type Role = 'operator' | 'tenant-admin' | 'auditor';
const ROLES: Role[] = ['operator', 'tenant-admin', 'auditor'];

/** 404 codes that hide another tenant's things: an allowed call must never answer with one of them for its own. */
const FENCE_CODES = new Set(['tenant_not_found', 'request_not_found', 'export_not_found', 'erasure_not_found', 'receipt_not_found']);

function readMatrix(): Map<string, Record<Role, Cell>> {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Authorization matrix'));
  const rows = new Map<string, Record<Role, Cell>>();
  for (const line of section.split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    const cells = line.split('|').map((c) => c.trim()).filter(Boolean);
    const route = /^`((?:GET|POST|PUT|DELETE|PATCH) \S+)`$/.exec(cells[0] ?? '')?.[1];
    if (!route) continue;
    rows.set(route, { operator: cells[1] as Cell, 'tenant-admin': cells[2] as Cell, auditor: cells[3] as Cell });
  }
  return rows;
}

interface Fixture {
  tenant: string;
  exportId: string;
  erasureId: string;
  receiptId: string;
}

/** Fills a path's parameters with one tenant's things (or things that do not exist). */
function fill(path: string, fixture: Fixture): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'tenantId') return fixture.tenant;
    if (name === 'receiptId' || path.startsWith('/v1/receipts/')) return fixture.receiptId;
    if (name === 'id' && path.startsWith('/v1/erasures/')) return fixture.erasureId;
    if (name === 'id') return fixture.exportId;
    return 'authz-probe';
  });
}

describe('the authorization matrix, route by route', () => {
  let service: TestService;
  const tokens = {} as Record<Role, string>;
  let own: Fixture;
  let other: Fixture;
  const missing: Fixture = { tenant: randomUUID(), exportId: randomUUID(), erasureId: randomUUID(), receiptId: randomUUID() };
  let operations: string[];

  const call = async (method: string, path: string, token?: string) => {
    const response = await fetch(`${service.api.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      // Strict schemas refuse it: an allowed role gets 400 from validation, after the guard let it through.
      body: method === 'POST' || method === 'PUT' ? JSON.stringify({ authzProbe: true }) : undefined,
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: response.status, code: body.code as string | undefined, body };
  };

  async function finished(id: string): Promise<RequestView> {
    for (let i = 0; i < 400; i++) {
      const { body } = await call('GET', `/v1/requests/${id}`, tokens.operator);
      const request = body as unknown as RequestView;
      if (FINAL_STATUSES.has(request.status)) return request;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`request ${id} did not finish`);
  }

  /** One tenant's export, subject erasure and receipt, made through the API and finished. */
  async function makeFixture(tenant: string): Promise<Fixture> {
    const admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    const { rows } = await admin.query<{ email: string }>('SELECT email FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 1', [tenant]);
    await admin.end();
    const post = (path: string, body: unknown) => fetch(`${service.api.url}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.operator}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<RequestView>);
    const exported = await post(`/v1/tenants/${tenant}/exports`, { tables: ['users'] });
    const erased = await post(`/v1/tenants/${tenant}/erasures`, { reason: 'authz fixture', subject: { column: 'email', value: rows[0].email } });
    const [exportDone, erasureDone] = await Promise.all([finished(exported.id), finished(erased.id)]);
    expect([exportDone.status, erasureDone.status]).toEqual(['succeeded', 'succeeded']);
    return { tenant, exportId: exported.id, erasureId: erased.id, receiptId: erasureDone.receiptId! };
  }

  beforeAll(async () => {
    // The matrix sends many calls per token at once; the rate limit has its own test.
    process.env.RATE_LIMIT_PER_SECOND = '10000';
    process.env.RATE_LIMIT_BURST = '10000';
    service = await startTestService('api_authz', { seed: 5, tenants: 3, rowsPerTenant: 60 });
    const [a, b] = service.demo.tenants.slice(1, 3).map((t) => t.id);
    tokens.operator = await service.api.token('operator');
    tokens.auditor = await service.api.token('auditor');
    tokens['tenant-admin'] = await service.api.token('tenant-admin', a);
    [own, other] = await Promise.all([makeFixture(a), makeFixture(b)]);
    const document = (await (await fetch(`${service.api.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m)).map((m) => `${m.toUpperCase()} ${path}`));
  });
  afterAll(async () => {
    await service?.close();
  });

  it('documents every route of the OpenAPI document in the README, and no other', () => {
    const matrix = readMatrix();
    expect([...matrix.keys()].sort()).toEqual([...operations].sort());
    for (const [route, cells] of matrix) {
      for (const role of ROLES) expect(['public', 'yes', 'no', 'own tenant'], `${route} ${role}`).toContain(cells[role]);
    }
  });

  it('answers every route and role as the matrix says', async () => {
    const matrix = readMatrix();
    const problems: string[] = [];
    const allowedCall = (label: string, result: { status: number; code?: string }) => {
      if (result.status === 401 || result.status === 403 || result.status >= 500 ||
        (result.status === 404 && FENCE_CODES.has(result.code ?? ''))) {
        problems.push(`${label}: expected to pass, got ${result.status} ${result.code}`);
      }
    };
    for (const operation of operations) {
      const [method, path] = operation.split(' ');
      const cells = matrix.get(operation);
      if (!cells) continue; // the test above names it
      for (const role of ROLES) {
        const label = `${operation} as ${role} (${cells[role]})`;
        const token = tokens[role];
        switch (cells[role]) {
          case 'public':
            allowedCall(`${label}, without a token`, await call(method, fill(path, own)));
            break;
          case 'yes':
            allowedCall(label, await call(method, fill(path, own), token));
            break;
          case 'no': {
            const result = await call(method, fill(path, own), token);
            if (result.status !== 403 || result.code !== 'forbidden_role') problems.push(`${label}: expected 403 forbidden_role, got ${result.status} ${result.code}`);
            break;
          }
          case 'own tenant': {
            allowedCall(`${label}, own tenant`, await call(method, fill(path, own), token));
            if (path.includes('{')) {
              // Another tenant's thing answers exactly like a thing that does not exist.
              const theirs = await call(method, fill(path, other), token);
              const nothing = await call(method, fill(path, missing), token);
              if (theirs.status !== 404 || theirs.status !== nothing.status || theirs.code !== nothing.code) {
                problems.push(`${label}: another tenant's answered ${theirs.status} ${theirs.code}, a missing one ${nothing.status} ${nothing.code}`);
              }
            } else {
              // A list: asking for another tenant still shows only the own tenant's items.
              const listed = await call(method, `${path}?tenantId=${other.tenant}`, token);
              const items = (listed.body.items ?? []) as Array<{ tenantId: string }>;
              if (listed.status !== 200 || items.length === 0 || items.some((item) => item.tenantId !== own.tenant)) {
                problems.push(`${label}: asking for another tenant listed ${listed.status} ${JSON.stringify(items.map((i) => i.tenantId))}`);
              }
            }
            break;
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses every /v1 route without a credential, and with a garbage or revoked-looking one', async () => {
    for (const operation of operations.filter((o) => o.includes(' /v1/'))) {
      const [method, path] = operation.split(' ');
      for (const token of [undefined, 'garbage', `coak_${'A'.repeat(43)}`]) {
        const result = await call(method, fill(path, own), token);
        expect(result.status, `${operation} with ${token ?? 'no token'}`).toBe(401);
      }
    }
  });
});
