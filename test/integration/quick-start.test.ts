import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config';
import { localEndpoints } from '../../src/stack/endpoints';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
      const { rows } = await demo.query<{ n: string }>('SELECT count(*) AS n FROM tenants');
      expect(Number(rows[0].n)).toBeGreaterThan(0);
    } finally {
      await demo.end();
    }
  });
});
