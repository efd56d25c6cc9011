import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'pg';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeysRepository } from '../../src/auth/api-keys';
import { mintToken } from '../../src/auth/tokens';
import { loadConfig, PROJECT_ROOT, stackHome } from '../../src/config';
import { DEMO_DATAMAP_CONFIG } from '../../src/datamap/datamap.config';
import { migrate } from '../../src/db/migrate';
import { seedDemo } from '../../src/demo/generator';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { LOCAL_PG_SERVICE_ROLE } from '../../src/stack/endpoints';
import { createScratchDatabase, ScratchDatabase } from '../helpers/db';

/*
 * Everything the API and the worker write while an export and an erasure of
 * one data subject run end to end, read back line by line: the lines carry
 * their request, tenant and workflow, and nothing in them is a credential,
 * a key or the subject's identifier in clear. The API and the worker run as
 * the compiled CLI in child processes (as in production), at debug level, so
 * their whole stdout and stderr is what is checked.
 */

const CLI = join(PROJECT_ROOT, 'bin', 'compliance-ops.js');

interface Child {
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (data: Buffer) => output.push(data.toString('utf8')));
  child.stderr?.on('data', (data: Buffer) => output.push(data.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function sparePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The local stack's KMS key material: AES backing keys and the EC private keys' base64 lines. */
function kmsKeyMaterial(): string[] {
  const file = join(stackHome(), 'kms', 'seed.yaml');
  if (!existsSync(file)) return [];
  const seed = parseYaml(readFileSync(file, 'utf8')) as {
    Keys?: { Symmetric?: { Aes?: Array<{ BackingKeys?: string[] }> }; Asymmetric?: { Ecc?: Array<{ PrivateKeyPem?: string }> } };
  };
  const aes = (seed.Keys?.Symmetric?.Aes ?? []).flatMap((k) => k.BackingKeys ?? []);
  const ec = (seed.Keys?.Asymmetric?.Ecc ?? []).flatMap((k) => (k.PrivateKeyPem ?? '').split('\n'))
    .map((line) => line.trim()).filter((line) => line.length >= 40 && !line.startsWith('-----'));
  return [...aes, ...ec];
}

describe('logs of a full export and erasure', () => {
  let app: ScratchDatabase;
  let catalog: ScratchDatabase;
  let api: Child;
  let worker: Child;
  let url: string;
  let lines: string[] = [];
  let records: Array<Record<string, unknown>> = [];
  const secrets: Record<string, string> = {};
  let tenant: string;
  let email: string;

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  async function finished(id: string, token: string): Promise<RequestView> {
    for (let i = 0; i < 600; i++) {
      const request = (await call('GET', `/v1/requests/${id}`, token)).body as unknown as RequestView;
      if (FINAL_STATUSES.has(request.status)) return request;
      await sleep(200);
    }
    throw new Error(`request ${id} did not finish`);
  }

  beforeAll(async () => {
    const compiled = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
    if (!existsSync(compiled)) throw new Error(`${compiled} is missing: build first (npx tsc -p tsconfig.build.json; npm test does)`);
    app = await createScratchDatabase('api_logs_app');
    catalog = await createScratchDatabase('api_logs_cat', undefined, LOCAL_PG_SERVICE_ROLE);
    const demo = await seedDemo(app.adminUrl, { seed: 23, tenants: 3, rowsPerTenant: 300 });
    await migrate(catalog.serviceUrl);
    tenant = demo.tenants[1].id;
    const admin = new Client({ connectionString: app.adminUrl });
    await admin.connect();
    email = (await admin.query<{ email: string }>('SELECT email FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 1', [tenant])).rows[0].email;
    await admin.end();

    const port = await sparePort();
    url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: app.serviceUrl,
      CATALOG_DATABASE_URL: catalog.serviceUrl,
      DATAMAP_CONFIG: DEMO_DATAMAP_CONFIG,
      TEMPORAL_TASK_QUEUE: `test-api-logs-${randomBytes(4).toString('hex')}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      // As much as the service ever writes.
      LOG_LEVEL: 'debug',
    };
    const config = loadConfig(env);
    Object.assign(secrets, {
      JWT_SECRET: config.JWT_SECRET,
      SUBJECT_HASH_SECRET: config.SUBJECT_HASH_SECRET,
      S3_SECRET_ACCESS_KEY: config.S3_SECRET_ACCESS_KEY,
    });
    kmsKeyMaterial().forEach((material, i) => { secrets[`KMS key material #${i + 1}`] = material; });
    expect(Object.keys(secrets).length).toBeGreaterThan(3);

    api = spawnCli(['api'], env);
    worker = spawnCli(['worker'], env);
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) === 200) break;
      if (i > 300 || api.process.exitCode !== null) throw new Error(`the API did not start:\n${api.output.join('')}`);
      await sleep(100);
    }

    const settings = { secret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER };
    const operator = await mintToken(settings, { role: 'operator' });
    const tenantAdmin = await mintToken(settings, { role: 'tenant-admin', tenantId: tenant });
    const pool = new Pool({ connectionString: catalog.serviceUrl, max: 1 });
    const { key: apiKey } = await new ApiKeysRepository(pool).create({ name: 'log-test', role: 'operator', createdBy: 'test' });
    await pool.end();
    Object.assign(secrets, { 'operator token': operator, 'tenant-admin token': tenantAdmin, 'API key': apiKey });

    // The subject's own export, then the subject's erasure; plus the ways a request can go wrong on the way.
    const exported = await call('POST', `/v1/tenants/${tenant}/exports`, tenantAdmin, { subject: { column: 'email', value: email } });
    expect(exported.status).toBe(202);
    expect((await finished(exported.body.id as string, operator)).status).toBe('succeeded');
    expect((await call('GET', `/v1/exports/${exported.body.id}/download`, apiKey)).status).toBe(200);
    const erased = await call('POST', `/v1/tenants/${tenant}/erasures`, apiKey, { reason: 'Art. 17 request', subject: { column: 'email', value: email } });
    expect(erased.status).toBe(202);
    expect((await finished(erased.body.id as string, operator)).status).toBe('succeeded');
    expect((await call('POST', `/v1/tenants/${tenant}/exports`, operator, { subject: { column: 'full_name', value: email } })).status).toBe(400);
    expect((await call('POST', `/v1/tenants/${tenant}/exports`, operator, { subject: { column: 'email', value: email }, extra: email })).status).toBe(400);
    expect((await call('GET', '/v1/requests', `${operator}x`)).status).toBe(401);
    expect((await call('GET', '/v1/requests', `${apiKey}x`)).status).toBe(401);

    await api.stop();
    await worker.stop();
    lines = [...api.output, ...worker.output].join('').split('\n').filter(Boolean);
    records = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  });
  afterAll(async () => {
    await api?.stop();
    await worker?.stop();
    await Promise.all([app?.drop(), catalog?.drop()]);
  });

  it('wrote something to check: JSON lines from both processes, one per HTTP request', () => {
    const http = records.filter((r) => r.msg === 'http');
    expect(http.length).toBeGreaterThan(10);
    expect(lines.length).toBeGreaterThan(http.length);
  });

  it('carries the request id on every request line, the tenant when the route has one, and the workflow it started', () => {
    const http = records.filter((r) => r.msg === 'http');
    for (const line of http) expect(line.requestId, JSON.stringify(line)).toEqual(expect.any(String));
    const tenantRoutes = http.filter((r) => String(r.route).includes(':tenantId'));
    expect(tenantRoutes.length).toBeGreaterThan(0);
    for (const line of tenantRoutes) expect(line.tenantId).toBe(tenant);
    const started = http.filter((r) => r.method === 'POST' && r.status === 202);
    expect(started.map((r) => String(r.workflowId).split(':').slice(0, 2).join(':')).sort())
      .toEqual([`erasure:${tenant}`, `export:${tenant}`]);
  });

  it('holds no bearer token, API key, JWT or hash secret, S3 secret, KMS key material, or the subject\'s e-mail', () => {
    const all = lines.join('\n');
    for (const [what, value] of Object.entries(secrets)) {
      expect(all.includes(value), `${what} appears in the logs`).toBe(false);
    }
    expect(all.toLowerCase().includes(email.toLowerCase()), 'the data subject\'s e-mail appears in the logs').toBe(false);
    expect(all.includes(encodeURIComponent(email)), 'the data subject\'s e-mail (URL-encoded) appears in the logs').toBe(false);
  });
});
