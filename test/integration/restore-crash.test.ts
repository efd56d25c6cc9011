import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { takeTenantSnapshot } from '../../src/restore/tenant-snapshot';
import { workflowIds } from '../../workflows/messages';
import { PitrService, startPitrService } from '../helpers/pitr-service';
import { until } from '../helpers/worker-process';
import { activityAttempt } from '../helpers/workflow-history';

/*
 * A worker killed (SIGKILL) while it replays a restore: the retried activity
 * rebuilds the staging schema from the snapshot and replays again, and the
 * in-place result is exactly tenant A as it was at the target, while tenant B
 * (which writes throughout) keeps every row it wrote. Replay has ~43,000
 * changes to apply: inserts and updates that fold into set-based statements,
 * and 3,000 updates that change a row's key, which replay applies one at a
 * time between the folded runs (so the kill lands inside a replay that mixes
 * both); the retry starts when the restore's 30 s heartbeat timeout notices
 * the dead worker.
 */
const SHAPE = { seed: 1033, tenants: 2, rowsPerTenant: 60 };

let pitr: PitrService;

beforeAll(async () => {
  pitr = await startPitrService('restore_crash', SHAPE);
}, 180_000);

afterAll(async () => {
  await pitr?.close();
});

describe('a worker killed in the middle of a restore', () => {
  it('retries the restore on another worker and swaps in exactly the tenant at the target', async () => {
    const [A, B] = pitr.service.demo.tenants.map((t) => t.id);
    await pitr.archiver.ensure();
    await takeTenantSnapshot({ config: pitr.config, appPool: pitr.appPool, s3: pitr.s3, kms: pitr.kms, catalogPool: pitr.catalogPool }, pitr.map, A, randomUUID());

    // After the snapshot: a long history for A (inserts, updates of them, then new keys for some), all of it to replay.
    for (let batch = 0; batch < 10; batch++) {
      await pitr.admin.query(`INSERT INTO audit_events (tenant_id, action, payload) SELECT $1, 'replayed ' || g, jsonb_build_object('batch', $2::int, 'n', g) FROM generate_series(1, 2000) g`, [A, batch]);
      await pitr.admin.query(`UPDATE audit_events SET payload = payload || '{"updated": true}' WHERE tenant_id = $1 AND action LIKE 'replayed %' AND (payload->>'batch')::int = $2`, [A, batch]);
      await pitr.admin.query(`UPDATE audit_events SET id = id + 100000 WHERE tenant_id = $1 AND action LIKE 'replayed %' AND (payload->>'batch')::int = $2 AND (payload->>'n')::int <= 300`, [A, batch]);
    }
    await pitr.admin.query(`UPDATE users SET full_name = 'at the target' WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [A]);
    const { rows: [{ lsn: target }] } = await pitr.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const expected = await pitr.contents(A);
    // What the restore must undo: A changes after the target.
    await pitr.admin.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND action LIKE 'replayed 1%'`, [A]);
    await pitr.admin.query(`UPDATE users SET full_name = 'after the target' WHERE tenant_id = $1`, [A]);
    await pitr.archiver.archiveOnce();

    const writer = new Client({ connectionString: pitr.service.app.adminUrl });
    writer.on('error', () => undefined);
    await writer.connect();
    let stop = false;
    let writtenByB = 0;
    const writing = (async () => {
      while (!stop) {
        await writer.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'during the restore')`, [B]);
        writtenByB += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const token = await pitr.service.api.token('operator');
    const call = (method: string, path: string, body?: unknown) => pitr.service.api.call(token, method, path, body);
    const request = async (id: string) => (await call('GET', `/v1/requests/${id}`)).body as unknown as RequestView;

    try {
      pitr.startWorker();
      const created = await call('POST', `/v1/tenants/${A}/restores`, { target: { lsn: target }, mode: 'in-place' });
      expect(created.status, JSON.stringify(created.body)).toBe(202);
      const id = created.body.id as string;

      const atKill = await until('the restore to replay', 120_000, async () => {
        const view = await request(id);
        expect(FINAL_STATUSES.has(view.status), `restore ended before the kill: ${view.status} ${JSON.stringify(view.error)}`).toBe(false);
        return view.progress?.stage === 'replay' ? view : undefined;
      }, pitr.workers, 50);
      const killedAt = Date.now();
      const killed = await pitr.workers[0].crash();
      expect(killed.signal).toBe('SIGKILL');
      expect(atKill.status).toBe('running');

      pitr.startWorker();
      const done = await until('the restore to finish on the second worker', 180_000, async () => {
        const view = await request(id);
        return FINAL_STATUSES.has(view.status) ? view : undefined;
      }, pitr.workers, 250);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      expect(await activityAttempt(workflowIds.restore(A, id), 'restoreTenant')).toBeGreaterThanOrEqual(2);
      const result = done.result as { schema: string; swapped: boolean; appliedTransactions: number; seconds: number };
      // eslint-disable-next-line no-console
      console.info(`restore crash test: retried restore finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; the attempt itself took ${result.seconds} s for ${result.appliedTransactions} transactions`);
      expect(result.swapped).toBe(true);
      expect(result.appliedTransactions).toBeGreaterThanOrEqual(21);

      expect(await pitr.contents(A)).toEqual(expected);
      // The staging schema has no use once swapped in: gone, and the catalog says so.
      expect((await pitr.admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [result.schema])).rowCount).toBe(0);
    } finally {
      stop = true;
      await writing;
      await writer.end();
    }
    const { rows } = await pitr.admin.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = 'during the restore'`, [B]);
    expect(Number(rows[0].n)).toBe(writtenByB);
  }, 420_000);
});
