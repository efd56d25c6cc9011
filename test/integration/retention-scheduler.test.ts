import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Client as TemporalClient } from '@temporalio/client';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApi } from '../../src/api';
import { planTenants } from '../../src/demo/tenant-plan';
import { RetentionPolicies } from '../../src/retention/retention-policies.service';
import { Firing, RetentionRuns } from '../../src/retention/retention-runs.service';
import { RetentionScheduler } from '../../src/retention/retention.scheduler';
import { windowStart } from '../../src/retention/schedule-window';
import { workflowIds } from '../../workflows/messages';
import { cliChild } from '../helpers/cli';
import { freePort } from '../../src/stack/free-port';
import { startTestService, TestService } from '../helpers/service';

const SHAPE = { seed: 29, tenants: 3, rowsPerTenant: 120 };
/**
 * Workflow ids are unique in the Temporal namespace, which every test run
 * shares, and scheduled ids carry only policy and window: names unique to
 * this run keep an earlier run's windows from counting as this one's.
 */
const RUN = randomBytes(3).toString('hex');
const EVERY_SECOND = `every-second-${RUN}`;
const YEARLY = `yearly-${RUN}`;
const ONE = planTenants(SHAPE)[1].id;
/** Nothing is this old: runs are cheap, and only how many start matters here. */
const policy = (schedule: string, catchUp: string) =>
  `    table: audit_events\n    maxAgeDays: 36500\n    tenants: { ids: ["${ONE}"] }\n    schedule: "${schedule}"\n    catchUp: ${catchUp}\n`;
const POLICIES = `policies:\n  ${EVERY_SECOND}:\n${policy('* * * * * *', 'none')}  ${YEARLY}:\n${policy('0 0 1 1 *', 'last')}  quiet-${RUN}:\n${policy('0 0 1 1 *', 'none')}`;
const BAD = `policies:\n  audit-bad:\n    table: audit_events\n    ageColumn: occured_at\n    maxAgeDays: 0\n    schedule: "0 3 * * *"\n`;

describe('retention scheduling across application instances', () => {
  let service: TestService;
  let second: INestApplication;
  let catalog: Client;
  let temporal: TemporalClient;
  let caughtUp: { id: string; window: string; status: string; workflow_id: string };
  const dir = mkdtempSync(join(tmpdir(), 'retention-schedule-'));

  beforeAll(async () => {
    writeFileSync(join(dir, 'retention.yaml'), POLICIES);
    writeFileSync(join(dir, 'bad.yaml'), BAD);
    process.env.RETENTION_CONFIG = join(dir, 'retention.yaml');
    service = await startTestService('retention_sched', SHAPE);
    temporal = service.api.app.get(TemporalClient);
    catalog = new Client({ connectionString: service.catalog.adminUrl });
    await catalog.connect();
    // The first instance caught the yearly window up on start; the second starts once that run is done.
    [caughtUp] = await poll('the catch-up run', () => runsOf(YEARLY), (runs) => runs[0]?.status === 'succeeded');
    second = await createApi();
    await second.init();
  });
  afterAll(async () => {
    delete process.env.RETENTION_CONFIG;
    await second?.close();
    await catalog?.end();
    await service?.close();
  });

  const runsOf = async (policyName: string) =>
    (await catalog.query<{ id: string; window: string; status: string; workflow_id: string }>(
      `SELECT id, params ->> 'window' AS window, status, workflow_id FROM requests WHERE kind = 'retention' AND params ->> 'policy' = $1 ORDER BY 2`,
      [policyName])).rows;

  async function poll<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    let value: T | undefined;
    for (let i = 0; i < 300; i++) {
      value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
  }

  /**
   * Lets runs finish, so none stays open in the shared Temporal after this
   * file's worker (and task queue) is gone; terminates any still open after a
   * minute. Under heavy load an activity has been seen to stay started until
   * its 5-minute timeout; that is not what this file tests.
   */
  async function finishOrTerminate(workflowIds: string[]): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (const id of workflowIds) {
      const handle = temporal.workflow.getHandle(id);
      while ((await handle.describe()).status.name === 'RUNNING') {
        if (Date.now() > deadline) {
          console.warn(`retention run ${id} still running after a minute: terminating it`);
          await handle.terminate('left open by the retention scheduler test');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Every execution Temporal ever had with this workflow id, closed ones included. */
  async function executions(workflowId: string): Promise<number> {
    let n = 0;
    for await (const _ of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
    return n;
  }

  it('two instances firing the same per-second cron start one workflow per window', async () => {
    const firings: Firing[] = [];
    for (const app of [service.api.app, second]) {
      const runs = app.get(RetentionRuns);
      const original = runs.startWindow.bind(runs);
      vi.spyOn(runs, 'startWindow').mockImplementation(async (...args) => {
        const firing = await original(...args);
        firings.push(firing);
        return firing;
      });
    }
    await poll('three windows fired', async () => new Set(firings.map((f) => f.window)).size, (n) => n >= 4);
    await Promise.all([service.api.app, second].map((app) => app.get(RetentionScheduler).onModuleDestroy()));

    const windows = new Map<string, Firing[]>();
    for (const f of firings) windows.set(f.window, [...(windows.get(f.window) ?? []), f]);
    for (const [, fired] of windows) expect(fired.filter((f) => f.outcome === 'started')).toHaveLength(1);
    // Both instances fired most windows (a stalled event loop may drop a tick in both): the dedup was exercised.
    expect([...windows.values()].filter((fired) => fired.length === 2).length).toBeGreaterThanOrEqual(2);
    // One request per window (some fired before the spies went in), and one workflow execution per request.
    const runs = await runsOf(EVERY_SECOND);
    for (const window of windows.keys()) expect(runs.filter((r) => r.window === window)).toHaveLength(1);
    for (const run of runs) expect(await poll('visibility', () => executions(run.workflow_id), (n) => n > 0)).toBe(1);
    await finishOrTerminate(runs.map((r) => r.workflow_id));
  });

  it('catches up the latest missed window once on start, and not again on the next start', async () => {
    const window = windowStart({ cron: '0 0 1 1 *', timeZone: 'UTC' }, new Date())!.toISOString();
    expect(caughtUp.window).toBe(window);
    // The second instance's catch-up found that window done.
    expect(await runsOf(YEARLY)).toEqual([caughtUp]);
    expect(await poll('visibility', () => executions(caughtUp.workflow_id), (n) => n > 0)).toBe(1);
    expect(await runsOf(`quiet-${RUN}`)).toEqual([]);
  });

  it('two instances firing the same window at once start it once; a finished window is not run again', async () => {
    const policy = service.api.app.get(RetentionPolicies).get(EVERY_SECOND);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    const outcomes = await Promise.all([service.api.app, second].map((app) => app.get(RetentionScheduler).fire(policy, anHourAgo)));
    expect(outcomes.map((o) => o?.outcome).sort()).toEqual([expect.stringMatching(/^already_(started|finished)$/), 'started']);
    await poll('the run', () => runsOf(EVERY_SECOND), (runs) => runs.find((r) => r.id === outcomes[0]!.requestId)?.status === 'succeeded');
    const again = await second.get(RetentionScheduler).fire(policy, anHourAgo);
    expect(again?.outcome).toBe('already_finished');
    expect(await executions(outcomes[0]!.workflowId)).toBe(1);
  });

  it('a window whose workflow id another deployment took in the namespace fails its request, saying so', async () => {
    const policy = service.api.app.get(RetentionPolicies).get(EVERY_SECOND);
    const twoHoursAgo = windowStart(policy.schedule, new Date(Date.now() - 7_200_000))!;
    const workflowId = workflowIds.retention(policy.name, twoHoursAgo.toISOString());
    // The other deployment's run: a dry run, so nothing of this one's is touched.
    const foreign = randomUUID();
    await temporal.workflow.start('retentionWorkflow', {
      workflowId, taskQueue: process.env.TEMPORAL_TASK_QUEUE!, memo: { requestId: foreign },
      args: [{ requestId: foreign, policy, asOf: twoHoursAgo.toISOString(), dryRun: true, trigger: 'schedule', requestedBy: { role: 'scheduler', subject: 'other' }, requestedAt: twoHoursAgo.toISOString() }],
    });
    const firing = await second.get(RetentionScheduler).fire(policy, twoHoursAgo);
    expect(firing?.outcome).toBe('id_taken');
    const [run] = (await runsOf(EVERY_SECOND)).filter((r) => r.workflow_id === workflowId);
    expect(run.status).toBe('failed');
    await temporal.workflow.getHandle(workflowId).result();
  });

  it('an invalid policy stops the API from starting, naming the policy and each field', async () => {
    process.env.RETENTION_CONFIG = join(dir, 'bad.yaml');
    try {
      const app = await createApi();
      await expect(app.init()).rejects.toThrow(/policy "audit-bad", field ageColumn: public\.audit_events has no column "occured_at"/);
      await app.close().catch(() => undefined);
    } finally {
      process.env.RETENTION_CONFIG = join(dir, 'retention.yaml');
    }

    const { status, stderr } = await cliChild(['api'], { RETENTION_CONFIG: join(dir, 'bad.yaml'), PORT: String(await freePort()), LOG_LEVEL: 'error' });
    expect(status).toBe(2);
    expect(stderr).toContain('policy "audit-bad", field ageColumn: public.audit_events has no column "occured_at"');
    expect(stderr).toContain('policy "audit-bad", field maxAgeDays: must be > 0 (days)');
  });
});
