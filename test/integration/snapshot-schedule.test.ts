import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client as TemporalClient } from '@temporalio/client';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api';
import { loadConfig } from '../../src/config';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { snapshotsPrefixOfTenant } from '../../src/restore/archive-layout';
import { scheduledSnapshotId } from '../../src/restore/snapshot-schedule.activities';
import { SnapshotScheduler } from '../../src/restore/snapshot.scheduler';
import { windowStart } from '../../src/retention/schedule-window';
import { listKeys } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import type { SnapshotScheduleResult } from '../../workflows/snapshot-schedule.workflow';
import { ServiceArchiver, startServiceArchiver } from '../helpers/pitr-service';
import { startTestService, TestService } from '../helpers/service';

/** Yearly: the catch-up on start is the only firing while the test runs. */
const YEARLY = '0 0 1 1 *';

describe('the snapshot schedule across application instances', () => {
  const config = loadConfig();
  const s3 = createS3Client(config);
  let service: TestService;
  let second: INestApplication;
  let temporal: TemporalClient;
  let catalog: Client;
  let operator: string;
  let archive: ServiceArchiver | undefined;
  let live: string[];
  let erased: string;
  /** windows run by the test after the first, in order */
  const snapshotWindows: string[] = [];

  beforeAll(async () => {
    process.env.SNAPSHOT_SCHEDULE = YEARLY;
    service = await startTestService('snap_sched', { seed: 1019, tenants: 3, rowsPerTenant: 60 });
    temporal = service.api.app.get(TemporalClient);
    operator = await service.api.token('operator');
    catalog = new Client({ connectionString: service.catalog.adminUrl });
    await catalog.connect();
    [erased, ...live] = service.demo.tenants.map((t) => t.id);
  }, 180_000);

  afterAll(async () => {
    delete process.env.SNAPSHOT_SCHEDULE;
    await second?.close();
    await archive?.close();
    s3.destroy();
    await catalog?.end();
    await service?.close();
  });

  const runOf = async (window: string) =>
    (await catalog.query<{ id: string; status: string; workflow_id: string }>(
      `SELECT id, status, workflow_id FROM requests WHERE kind = 'snapshot' AND params ->> 'window' = $1`, [window])).rows;

  async function finished(requestId: string): Promise<Pick<RequestView, 'status' | 'result'>> {
    for (let i = 0; i < 600; i++) {
      const { rows } = await catalog.query<Pick<RequestView, 'status' | 'result'>>('SELECT status, result FROM requests WHERE id = $1', [requestId]);
      if (rows[0] && FINAL_STATUSES.has(rows[0].status)) return rows[0];
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`snapshot run ${requestId} did not finish`);
  }

  /** Polls until `read` returns a non-empty list (a scheduler fires in the background). */
  async function until<T>(read: () => Promise<T[]>): Promise<T[]> {
    for (let i = 0; i < 300; i++) {
      const rows = await read();
      if (rows.length > 0) return rows;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('nothing appeared');
  }

  async function executions(workflowId: string): Promise<number> {
    for (let i = 0; i < 100; i++) {
      let n = 0;
      for await (const _ of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
      if (n > 0) return n;
      await new Promise((resolve) => setTimeout(resolve, 200)); // visibility lags a little
    }
    return 0;
  }

  it('fires nothing while the WAL archive is not set up: such snapshots would not be restore points', async () => {
    const firing = await service.api.app.get(SnapshotScheduler).fire(new Date());
    expect(firing?.outcome).toBe('no_archive');
    expect((await catalog.query(`SELECT 1 FROM requests WHERE kind = 'snapshot'`)).rowCount).toBe(0);
  });

  it('two instances firing one window start one run; a run snapshots every live tenant once, skips an erased one, and then skips the unchanged', async () => {
    archive = await startServiceArchiver(service, config, s3);
    // What an erasure under way leaves: its tombstone (the rows are still going).
    const requestId = randomUUID();
    await catalog.query(`INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by) VALUES ($1, 'erasure', $2, $3, 'test')`, [requestId, erased, `erasure:${erased}:${requestId}`]);
    await catalog.query(`INSERT INTO tombstones (tenant_id, subject_hash, request_id) VALUES ($1, NULL, $2)`, [erased, requestId]);

    // A second instance starting now catches this year's window up: every live tenant snapshotted once.
    second = await createApi();
    await second.init();
    const thisYear = windowStart({ cron: YEARLY, timeZone: 'UTC' }, new Date())!.toISOString();
    const [caughtUp] = await until(() => runOf(thisYear));
    const caughtUpRun = await finished(caughtUp.id);
    expect(caughtUpRun.status).toBe('succeeded');
    const first = caughtUpRun.result as unknown as SnapshotScheduleResult;
    expect(first.taken.map((t) => [t.tenantId, t.snapshotId]).sort()).toEqual(live.map((t) => [t, scheduledSnapshotId(t, thisYear)]).sort());
    expect(first.skipped).toEqual([{ tenantId: erased, reason: 'tenant_erased' }]);
    expect(first.pruned).toMatchObject({ snapshotsDeleted: 0, segmentsDeleted: 0 });

    // Each snapshot is in the catalog and in its tenant's snapshots/ folder; none of the erased tenant.
    for (const tenantId of live) {
      const id = scheduledSnapshotId(tenantId, thisYear);
      const { rows } = await catalog.query<{ prefix: string }>('SELECT prefix FROM restore_snapshots WHERE id = $1', [id]);
      expect(rows[0].prefix).toBe(`${snapshotsPrefixOfTenant(tenantId)}${id}/`);
      expect((await listKeys(s3, config.S3_EXPORT_BUCKET, rows[0].prefix)).length).toBeGreaterThan(2);
    }
    expect((await catalog.query('SELECT 1 FROM restore_snapshots WHERE tenant_id = $1', [erased])).rowCount).toBe(0);
    expect(await listKeys(s3, config.S3_EXPORT_BUCKET, snapshotsPrefixOfTenant(erased))).toEqual([]);

    // Both instances fire a year ago, a window nobody ran: one run, which finds every live tenant unchanged since.
    const lastYear = windowStart({ cron: YEARLY, timeZone: 'UTC' }, new Date(Date.now() - 366 * 86_400_000))!.toISOString();
    const firings = await Promise.all([service.api.app, second].map((app) => app.get(SnapshotScheduler).fire(new Date(lastYear))));
    expect(firings.map((f) => f?.outcome).sort()).toEqual([expect.stringMatching(/^already_(started|finished)$/), 'started']);
    expect(firings[0]!.workflowId).toBe(`snapshots:${service.app.name}:${lastYear}`);
    const [run] = await runOf(lastYear);
    expect(await runOf(lastYear)).toHaveLength(1);
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    const result = done.result as unknown as SnapshotScheduleResult;
    expect(result.taken).toEqual([]);
    expect(result.skipped.sort((a, b) => a.tenantId.localeCompare(b.tenantId))).toEqual(
      [{ tenantId: erased, reason: 'tenant_erased' }, ...live.map((tenantId) => ({ tenantId, reason: 'unchanged' }))].sort((a, b) => a.tenantId.localeCompare(b.tenantId)));
    expect(await executions(run.workflow_id)).toBe(1);

    // A finished window is not run again.
    expect((await second.get(SnapshotScheduler).fire(new Date(lastYear)))?.outcome).toBe('already_finished');
    snapshotWindows.push(thisYear);
  }, 180_000);

  it('snapshots again only the tenants that changed since their last snapshot; an unchanged one still restores to now', async () => {
    const [changed, idle] = live;
    const app = new Client({ connectionString: service.app.adminUrl });
    await app.connect();
    try {
      await app.query(`UPDATE users SET full_name = 'changed since the last snapshot' WHERE tenant_id = $1`, [changed]);
      const window = windowStart({ cron: YEARLY, timeZone: 'UTC' }, new Date(Date.now() - 2 * 366 * 86_400_000))!.toISOString();
      expect((await service.api.app.get(SnapshotScheduler).fire(new Date(window)))?.outcome).toBe('started');
      const [run] = await runOf(window);
      const result = (await finished(run.id)).result as unknown as SnapshotScheduleResult;
      expect(result.taken.map((t) => t.tenantId)).toEqual([changed]);
      expect(result.skipped).toContainEqual({ tenantId: idle, reason: 'unchanged' });
      snapshotWindows.push(window);

      // The idle tenant's restore to now starts from its old snapshot, replays nothing, and is exact.
      const { rows: [{ lsn }] } = await app.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const restore = await service.api.call(operator, 'POST', `/v1/tenants/${idle}/restores`, { target: { lsn }, mode: 'staging' });
      const done = await service.api.finished(operator, restore.body.id as string);
      expect(done.status).toBe('succeeded');
      const staged = (done.result as { schema: string; appliedTransactions: number });
      expect(staged.appliedTransactions).toBe(0);
      const rowsOf = async (schema: string) =>
        (await app.query<{ r: string }>(`SELECT u::text AS r FROM ${schema}.users u WHERE tenant_id = $1 ORDER BY id`, [idle])).rows.map((r) => r.r);
      expect(await rowsOf(staged.schema)).toEqual(await rowsOf('public'));
    } finally {
      await app.end();
    }
  }, 180_000);

  it('lists a tenant\'s restore points for operators: taken at, LSN, rows, and how far the archive reaches', async () => {
    const tenantId = live[0];
    const response = await fetch(`${service.api.url}/v1/tenants/${tenantId}/snapshots`, { headers: { authorization: `Bearer ${operator}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: Array<{ id: string; takenAt: string; lsn: string; rows: number }>; archive: unknown; pitrWindow: string };
    // This year's catch-up, and the run after the tenant changed; last year's run found it unchanged.
    expect(body.items.map((s) => s.id).sort()).toEqual(snapshotWindows.map((w) => scheduledSnapshotId(tenantId, w)).sort());
    for (const item of body.items) expect(item).toEqual({ id: expect.any(String), takenAt: expect.any(String), lsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/), rows: expect.any(Number) });
    expect(body.items[0].rows).toBeGreaterThan(0);
    expect(body.archive).toEqual({ archivedLsn: expect.any(String), archivedAt: expect.any(String) });
    expect(body.pitrWindow).toBe(config.PITR_WINDOW);

    const other = await fetch(`${service.api.url}/v1/tenants/${tenantId}/snapshots`, { headers: { authorization: `Bearer ${await service.api.token('tenant-admin', tenantId)}` } });
    expect(other.status).toBe(403);
  });
});
