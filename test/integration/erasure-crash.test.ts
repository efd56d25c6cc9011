import { Client, escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/messages';
import { TenantSummary } from '../../src/demo/generator';
import { ReceiptView } from '../../src/receipts/receipt.types';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { activityAttempt } from '../helpers/workflow-history';
import { startTestService, TestService } from '../helpers/service';
import { startWorkerProcess, until, WorkerProcess } from '../helpers/worker-process';

/*
 * A whale of ~152,000 rows: with the worker's default tuning its purge runs
 * for several seconds, so the kill lands between batches that have committed
 * and batches still to come. Seeding takes a few seconds; the retry starts when
 * the purge's 30 s heartbeat timeout notices the dead worker.
 */
const SHAPE = { seed: 13, tenants: 2, rowsPerTenant: 80_000, whaleShare: 0.95 };
const DELETED_TABLES = ['comments', 'audit_events', 'documents', 'projects', 'users'] as const;
/** The kill waits until at least this share of the tenant's rows is gone, and some are left. */
const KILL_AFTER_SHARE = 0.05;

describe('a worker killed in the middle of an erasure purge', () => {
  let service: TestService;
  let whale: TenantSummary;
  let operator: string;
  let admin: Client;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    service = await startTestService('erasure_crash', SHAPE, { worker: false });
    whale = service.demo.tenants[0];
    operator = await service.api.token('operator');
    admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await admin?.end();
    await service?.close();
  });

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${service.api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  const request = async (id: string) => (await call<RequestView>('GET', `/v1/requests/${id}`)).body;

  /** The superuser's count (no RLS) of the tenant's rows in one table. */
  const count = async (table: string, where = 'tenant_id = $1') =>
    Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${escapeIdentifier(table)} WHERE ${where}`, [whale.id])).rows[0].n);
  const remaining = async () => {
    let rows = 0;
    for (const table of DELETED_TABLES) rows += await count(table);
    return rows;
  };

  it('resumes on a second worker, finishes, and its one receipt counts exactly the rows that existed', async () => {
    const before: Record<string, number> = {};
    for (const table of [...DELETED_TABLES, 'invoices']) before[table] = await count(table);
    const deletable = DELETED_TABLES.reduce((sum, t) => sum + before[t], 0);

    workers.push(startWorkerProcess());
    const created = await call<RequestView>('POST', `/v1/tenants/${whale.id}/erasures`, { reason: 'customer off-boarding, crash test' });
    expect(created.status).toBe(202);
    const id = created.body.id;

    // Kill mid-purge: some batches committed, more to come.
    const atKill = await until('the purge to be under way', 45_000, async () => {
      const view = await request(id);
      expect(FINAL_STATUSES.has(view.status), `erasure ended before the kill: ${view.status} ${JSON.stringify(view.error)}`).toBe(false);
      const left = await remaining();
      return left > 0 && left <= deletable * (1 - KILL_AFTER_SHARE) ? left : undefined;
    }, workers);
    const killed = await workers[0].crash();
    expect(killed.signal).toBe('SIGKILL');
    expect(atKill).toBeGreaterThan(0);
    expect(await remaining(), 'rows left after the kill').toBeGreaterThan(0);

    workers.push(startWorkerProcess());
    const done = await until('the erasure to finish on the second worker', 75_000, async () => {
      const view = await request(id);
      return FINAL_STATUSES.has(view.status) ? view : undefined;
    }, workers);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(await activityAttempt(workflowIds.erasure(whale.id, id), 'purge'), 'the purge activity was retried after the kill').toBeGreaterThanOrEqual(2);

    // Nothing left: every deleted table is empty for the tenant; invoices stay, none still holding a person.
    for (const table of DELETED_TABLES) expect(await count(table), table).toBe(0);
    expect(await count('invoices')).toBe(before.invoices);
    expect(await count('invoices', `tenant_id = $1 AND (billed_user_id IS NOT NULL OR billing_name <> '[redacted]' OR billing_email NOT LIKE 'hmac:%')`)).toBe(0);

    // Exactly one receipt, counting the rows that existed, not what each attempt saw.
    const receipts = await call<{ items: ReceiptView[] }>('GET', `/v1/receipts?tenantId=${whale.id}`);
    expect(receipts.status).toBe(200);
    expect(receipts.body.items.map((r) => [r.receiptId, r.requestId])).toEqual([[done.receiptId, id]]);
    const counted = Object.fromEntries(receipts.body.items[0].receipt.tables.map((t) => [t.table, t.rows]));
    expect(counted).toEqual({
      ...Object.fromEntries(Object.entries(before).map(([table, rows]) => [`public.${table}`, rows])),
      // The tenant's own row stays: its anonymized invoices still reference it.
      'public.tenants': 0,
    });
    expect(done.result?.rows).toBe(deletable + before.invoices);
  });
});
