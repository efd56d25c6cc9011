import { mkdtempSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';

describe('compliance-ops stack', () => {
  it('status --json lists every endpoint, and the core components are healthy', () => {
    const { status, stdout } = cli(['stack', 'status', '--json']);
    const report = JSON.parse(stdout) as Record<string, { url: string; healthy: boolean }>;
    expect(Object.keys(report).sort()).toEqual(['api', 'kms', 'postgres', 's3', 'temporal']);
    for (const name of ['postgres', 'temporal', 's3', 'kms']) expect(report[name]).toMatchObject({ healthy: true });
    expect(report.postgres.url).toMatch(/^postgres:\/\/.+@127\.0\.0\.1:\d+\/demo$/);
    expect(status).toBe(0);
  });

  it('up is idempotent: a second run reuses the running processes', () => {
    const before = JSON.parse(cli(['stack', 'status', '--json']).stdout);
    const again = cli(['stack', 'up']);
    expect(again.status).toBe(0);
    expect(JSON.parse(cli(['stack', 'status', '--json']).stdout)).toEqual(before);
  });

  describe('with a port that another process holds', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer().listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('up refuses and names the variable to change', () => {
      const home = mkdtempSync(join(tmpdir(), 'stack-home-'));
      const { status, stderr } = cli(['stack', 'up'], { COMPLIANCE_OPS_HOME: home, COMPLIANCE_OPS_PG_PORT: String(port) });
      expect(status).not.toBe(0);
      expect(stderr).toContain(`port ${port}`);
      expect(stderr).toContain('COMPLIANCE_OPS_PG_PORT');
    });
  });

  it('a missing tool without Go says what to install', () => {
    const home = mkdtempSync(join(tmpdir(), 'stack-home-'));
    const { status, stderr } = cli(['stack', 'up'], {
      COMPLIANCE_OPS_HOME: home,
      COMPLIANCE_OPS_TOOLS: join(home, 'no-tools'),
      PATH: '/usr/bin:/bin',
    });
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/Go is missing to build it\. Install Go/);
  });
});
