import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config';
import { localEndpoints } from '../../src/stack/endpoints';
import { freePort } from '../../src/stack/free-port';

describe('the quick start (what npm start runs after installing)', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
  });

  it('brings the stack up, seeds the demo tenants, serves a ready API and runs a worker', async () => {
    const port = await freePort();
    let output = '';
    child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'compliance-ops.js'), 'start'], {
      env: { ...process.env, PORT: String(port), TEMPORAL_TASK_QUEUE: `quick-start-${port}` },
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

    let ready = false;
    for (let i = 0; i < 240 && !ready && child.exitCode === null; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(ready, output).toBe(true);
    expect(output).toContain('Try it:');

    const demo = new Client({ connectionString: localEndpoints().demoAdminUrl });
    await demo.connect();
    try {
      const { rows } = await demo.query<{ n: string; tenant: string }>('SELECT count(*) AS n, min(id::text) AS tenant FROM tenants');
      expect(Number(rows[0].n)).toBeGreaterThan(0);

      // The demo is ready for a point-in-time restore too: a snapshot, then a staging restore to now, then its schema dropped.
      const token = /^\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)$/m.exec(output)![1];
      const api = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, {
          method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
        });
        return (await response.json()) as Record<string, unknown>;
      };
      const finished = async (id: unknown) => {
        for (let i = 0; i < 240; i++) {
          const request = await api('GET', `/v1/requests/${String(id)}`);
          if (['succeeded', 'failed', 'cancelled'].includes(request.status as string)) return request;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        throw new Error(`request ${String(id)} did not finish`);
      };
      const tenant = rows[0].tenant;
      expect(await finished((await api('POST', `/v1/tenants/${tenant}/snapshots`, {})).id)).toMatchObject({ status: 'succeeded' });
      const { rows: [{ lsn }] } = await demo.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const restore = await finished((await api('POST', `/v1/tenants/${tenant}/restores`, { target: { lsn }, mode: 'staging' })).id);
      expect(restore, JSON.stringify(restore.error)).toMatchObject({ status: 'succeeded' });
      expect(await api('DELETE', `/v1/tenants/${tenant}/restores/${String(restore.id)}`)).toMatchObject({ state: 'dropped' });
    } finally {
      await demo.end();
    }
  }, 240_000);
});
