import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventView } from '../../src/audit/audit-events.repository';
import { Config, loadConfig } from '../../src/config';
import { exportPrefix } from '../../src/export/layout';
import { FINAL_STATUSES, RequestStatus, RequestView } from '../../src/requests/request.types';
import { deletePrefix, listKeys, listMultipartUploads } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { clientDataConverter } from '../../src/temporal/data-converter';
import { startTestApi, TestApi } from '../helpers/api';
import { startTestService, TestService } from '../helpers/service';

/*
 * Requests over their life: cancellation of every kind, idempotent and capped
 * creation, the audit trail, and an API restart in the middle of an export.
 * The whale (~90% of ~200,000 rows) keeps an export running for seconds, long
 * enough to cancel it or restart the API under it.
 */
const SHAPE = { seed: 17, tenants: 4, rowsPerTenant: 50_000, whaleShare: 0.9 };

describe('the life of a request through the API', () => {
  let service: TestService;
  let api: TestApi;
  let config: Config;
  let s3: S3Client;
  let connection: Connection;
  let temporal: TemporalClient;
  let operator: string;
  let whale: string;
  let small: string[];

  beforeAll(async () => {
    service = await startTestService('api_life', SHAPE);
    api = service.api;
    config = loadConfig();
    s3 = createS3Client(config);
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    temporal = new TemporalClient({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(config) });
    operator = await api.token('operator');
    const byRows = [...service.demo.tenants].sort((a, b) => b.rows - a.rows);
    whale = byRows[0].id;
    small = byRows.slice(1).map((t) => t.id);
  });
  afterAll(async () => {
    if (whale) await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${whale}/exports/`).catch(() => undefined);
    // The restart test replaced the service's API with its own.
    if (api && service && api !== service.api) await api.close();
    await service?.close();
    await connection?.close();
    s3?.destroy();
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, token = operator) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const request = async (id: string) => (await call('GET', `/v1/requests/${id}`)).body as unknown as RequestView;

  async function until(id: string, accept: (r: RequestView) => boolean, what: string, timeoutMs = 120_000): Promise<RequestView> {
    const deadline = Date.now() + timeoutMs;
    let last: RequestView | undefined;
    while (Date.now() < deadline) {
      last = await request(id);
      if (accept(last)) return last;
      await sleep(100);
    }
    throw new Error(`request ${id} never became ${what}; last: ${JSON.stringify(last)}`);
  }
  const reaches = (statuses: RequestStatus[]) => (r: RequestView) => statuses.includes(r.status);
  const copying = (r: RequestView) => r.status === 'running' && Number((r.progress as { rows?: number } | null)?.rows ?? 0) > 0;

  /** Workflow ids on this file's task queue; visibility lags, so wait until it has caught up with `atLeast`. */
  async function workflowsOnQueue(prefix: string, atLeast: number): Promise<string[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ids: string[] = [];
      for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${process.env.TEMPORAL_TASK_QUEUE}'` })) {
        if (wf.workflowId.startsWith(prefix)) ids.push(wf.workflowId);
      }
      if (ids.length >= atLeast || Date.now() > deadline) return ids;
      await sleep(250);
    }
  }

  it('starts exactly one request and one workflow for 10 concurrent POSTs with one Idempotency-Key', async () => {
    const tenant = small[0];
    const key = `concurrent-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 10 }, () =>
      call('POST', `/v1/tenants/${tenant}/exports`, { tables: ['users'] }, { 'idempotency-key': key })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as string[];

    const catalog = new Client({ connectionString: service.catalog.adminUrl });
    await catalog.connect();
    const { rows } = await catalog.query('SELECT id FROM requests WHERE tenant_id = $1', [tenant]);
    await catalog.end();
    expect(rows).toEqual([{ id }]);
    await until(id, reaches(['succeeded']), 'succeeded');
    await sleep(1000); // let a (wrongly) second workflow show up in visibility, if there were one
    expect(await workflowsOnQueue(`export:${tenant}:`, 1)).toEqual([`export:${tenant}:${id}`]);

    const replay = await call('POST', `/v1/tenants/${tenant}/exports`, { tables: ['users'] }, { 'idempotency-key': key });
    expect(replay).toMatchObject({ status: 202, body: { id, status: 'succeeded' } });
    const reused = await call('POST', `/v1/tenants/${tenant}/exports`, { tables: ['projects'] }, { 'idempotency-key': key });
    expect(reused).toMatchObject({ status: 409, body: { code: 'idempotency_key_reused' } });
  });

  it('runs one export per tenant: the same body joins the running one, another waits its turn (409)', async () => {
    const first = await call('POST', `/v1/tenants/${whale}/exports`, { format: 'csv' });
    expect(first.status).toBe(202);
    const id = first.body.id as string;
    const joined = await Promise.all(Array.from({ length: 5 }, () => call('POST', `/v1/tenants/${whale}/exports`, {})));
    expect(joined.map((j) => [j.status, j.body.id])).toEqual(Array(5).fill([202, id]));
    const other = await call('POST', `/v1/tenants/${whale}/exports`, { format: 'jsonl' });
    expect(other).toMatchObject({ status: 409, body: { code: 'export_in_progress', details: { requestId: id } } });
    // Other tenants are not held up.
    expect((await call('POST', `/v1/tenants/${small[1]}/exports`, { format: 'jsonl', tables: ['projects'] })).status).toBe(202);

    // Cancel it mid-copy: the workflow is cancelled, and the export leaves nothing behind in S3.
    await until(id, copying, 'copying rows');
    const cancelled = await call('POST', `/v1/requests/${id}/cancel`);
    expect(cancelled.status).toBe(202);
    const done = await until(id, (r) => FINAL_STATUSES.has(r.status), 'final');
    expect(done.status).toBe('cancelled');
    const prefix = exportPrefix(whale, id);
    expect(await listKeys(s3, config.S3_EXPORT_BUCKET, prefix)).toEqual([]);
    expect(await listMultipartUploads(s3, config.S3_EXPORT_BUCKET, prefix)).toEqual([]);
    const handle = temporal.workflow.getHandle(`export:${whale}:${id}`);
    await expect(handle.result()).rejects.toThrow(/cancel/i);
    expect((await handle.describe()).status.name).toBe('CANCELLED');

    // Cancelling again is a no-op; the slot is free for the other body now.
    expect(await call('POST', `/v1/requests/${id}/cancel`)).toMatchObject({ status: 202, body: { status: 'cancelled' } });
    const next = await call('POST', `/v1/tenants/${whale}/exports`, { format: 'jsonl', tables: ['users'] });
    expect(next.status).toBe(202);
    expect(next.body.id).not.toBe(id);
    await until(next.body.id as string, reaches(['succeeded']), 'succeeded');
  });

  it('cancels an erasure in its grace period, and refuses once it has run (409 not_cancellable)', async () => {
    const tenant = small[2];
    const admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    const { rows } = await admin.query<{ email: string }>('SELECT email FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 2', [tenant]);
    await admin.end();

    const waiting = await call('POST', `/v1/tenants/${tenant}/erasures`, { reason: 'Art. 17', graceSeconds: 3600, subject: { column: 'email', value: rows[0].email } });
    await until(waiting.body.id as string, reaches(['waiting_grace']), 'waiting_grace');
    const tenantAdmin = await api.token('tenant-admin', tenant);
    expect((await call('POST', `/v1/requests/${waiting.body.id}/cancel`, undefined, {}, tenantAdmin)).status).toBe(202);
    expect((await until(waiting.body.id as string, (r) => FINAL_STATUSES.has(r.status), 'final')).status).toBe('cancelled');

    const ran = await call('POST', `/v1/tenants/${tenant}/erasures`, { reason: 'Art. 17', subject: { column: 'email', value: rows[1].email } });
    await until(ran.body.id as string, reaches(['succeeded']), 'succeeded');
    expect(await call('POST', `/v1/requests/${ran.body.id}/cancel`)).toMatchObject({ status: 409, body: { code: 'not_cancellable', details: { status: 'succeeded' } } });

    // Another tenant's admin: the same 404 as for a request that does not exist.
    const stranger = await api.token('tenant-admin', small[0]);
    const theirs = await call('POST', `/v1/requests/${ran.body.id}/cancel`, undefined, {}, stranger);
    const none = await call('POST', `/v1/requests/${randomUUID()}/cancel`, undefined, {}, stranger);
    expect([theirs.status, theirs.body.code]).toEqual([404, 'request_not_found']);
    expect([none.status, none.body.code]).toEqual([404, 'request_not_found']);
  });

  it('keeps an audit trail of who asked what, when and from where, page by page', async () => {
    const auditor = await api.token('auditor');
    const all: AuditEventView[] = [];
    let after: string | null = null;
    do {
      const page = await call('GET', `/v1/audit-events?limit=3${after ? `&after=${after}` : ''}`, undefined, {}, auditor);
      expect(page.status).toBe(200);
      all.push(...(page.body.items as AuditEventView[]));
      after = page.body.next as string | null;
    } while (after);
    const ids = all.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    const cancelledExport = all.find((e) => e.event === 'cancel_requested' && e.kind === 'export')!;
    const trail = all.filter((e) => e.requestId === cancelledExport.requestId);
    expect(trail.map((e) => [e.event, e.fromStatus, e.toStatus])).toEqual([
      ['requested', null, 'queued'],
      ['status', 'queued', 'running'],
      ['cancel_requested', null, null],
      ['status', 'running', 'cancelled'],
    ]);
    expect(trail[0]).toMatchObject({ actor: 'local-operator', tenantId: whale, kind: 'export', details: { from: expect.stringMatching(/127\.0\.0\.1/) } });
    expect(trail[2]).toMatchObject({ actor: 'local-operator', details: { from: expect.stringMatching(/127\.0\.0\.1/), role: 'operator' } });
    expect(trail[3].actor).toBe('workflow');

    const byTenant = await call('GET', `/v1/audit-events?tenantId=${small[2]}&limit=500`, undefined, {}, auditor);
    const items = byTenant.body.items as AuditEventView[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((e) => e.tenantId === small[2])).toBe(true);
    // A subject erasure's trail names the subject by keyed hash only.
    expect(JSON.stringify(items)).not.toMatch(/@/);
    const byRequest = await call('GET', `/v1/audit-events?requestId=${cancelledExport.requestId}`, undefined, {}, auditor);
    expect((byRequest.body.items as AuditEventView[]).map((e) => e.id)).toEqual(trail.map((e) => e.id));
    expect((await call('GET', '/v1/audit-events?after=abc', undefined, {}, auditor)).status).toBe(400);
  });

  it('keeps statuses right when the API restarts in the middle of an export', async () => {
    const key = `restart-${randomUUID()}`;
    const created = await call('POST', `/v1/tenants/${whale}/exports`, { format: 'csv' }, { 'idempotency-key': key });
    const id = created.body.id as string;
    await until(id, copying, 'copying rows');

    // The API goes away; the worker (separate from it) carries on.
    const first = api;
    await first.close();
    first.close = async () => undefined; // service.close() would close it again
    const before = Date.now();
    api = await startTestApi();
    operator = await api.token('operator');

    // The new API sees the same request, and it converges to succeeded.
    const seen = await request(id);
    expect(seen.id).toBe(id);
    expect(['running', 'succeeded']).toContain(seen.status);
    const done = await until(id, reaches(['succeeded', 'failed', 'cancelled']), 'final');
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.updatedAt)).toBeGreaterThan(before - 1000);
    // The client's retry after the restart gets the same request, and no second workflow starts.
    expect(await call('POST', `/v1/tenants/${whale}/exports`, { format: 'csv' }, { 'idempotency-key': key }))
      .toMatchObject({ status: 202, body: { id, status: 'succeeded' } });
    const listed = (await call('GET', `/v1/requests?tenantId=${whale}&kind=export`)).body.items as RequestView[];
    expect(listed.filter((r) => r.id === id)).toHaveLength(1);
    const workflows = await workflowsOnQueue(`export:${whale}:${id}`, 1);
    expect(workflows).toEqual([`export:${whale}:${id}`]);
  });
});
