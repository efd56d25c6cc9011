import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataMap } from '../../src/datamap/datamap.types';
import { TenantSummary } from '../../src/demo/generator';
import { DEFAULT_ENDS_AT } from '../../src/demo/tenant-plan';
import { ActivityContextLike } from '../../src/erasure/activity-context';
import { BatchTuning } from '../../src/erasure/batch-size';
import { createErasureActivities, PurgeHeartbeat } from '../../src/erasure/erasure.activities';
import { countExpired, purgeExpired } from '../../src/erasure/retention';
import { ScratchDatabase } from '../helpers/db';
import { ErasureTestEnv, openErasureTestEnv } from '../helpers/erasure-env';

const DAY_MS = 86_400_000;
/** A year before the demo data's fixed "now": about half of each tenant's audit events are older. */
const CUTOFF = new Date(DEFAULT_ENDS_AT.getTime() - 365 * DAY_MS).toISOString();
/** Fixed 50-row batches: even small tenants take dozens, so a crash lands mid-table. */
const SMALL_BATCHES: Partial<BatchTuning> = { initialBatchRows: 50, minBatchRows: 50, maxBatchRows: 50 };

let app: ScratchDatabase;
let admin: Client;
let appPool: Pool;
let catalogPool: Pool;
let map: DataMap;
let tenants: TenantSummary[];

let env: ErasureTestEnv;

beforeAll(async () => {
  env = await openErasureTestEnv('erasure_resume', 5);
  ({ app, tenants, admin, appPool, catalogPool, map } = env);
});

afterAll(async () => {
  await env?.close();
});

const activitiesIn = (activityContext?: () => ActivityContextLike | undefined) =>
  createErasureActivities({ appPool, catalogPool, loadDataMap: async () => map, subjectHashSecret: 'a test secret of at least thirty-two bytes', tuning: SMALL_BATCHES, activityContext });

const newRequest = (tenantId: string, kind: 'erasure' | 'retention') => env.newRequest(tenantId, kind);

const digest = (table: string, where: string, params: unknown[] = []) => env.digest(table, where, params);

const count = async (sql: string, params: unknown[]) => (await admin.query(sql, params)).rows[0].n as number;

describe('a purge interrupted and resumed', () => {
  it('dies between a COMMIT and its heartbeat, resumes from the last heartbeat, and still reports exactly the rows that existed', async () => {
    const tenantId = tenants[0].id;
    const target = { kind: 'tenant' as const, tenantId };
    const requestId = await newRequest(tenantId, 'erasure');
    const counted = await activitiesIn().countScope({ requestId, target });

    // Attempt 1: the third heartbeat of the second table never arrives — its batch committed, then the worker died.
    const recorded: PurgeHeartbeat[] = [];
    let lostBatch: PurgeHeartbeat | undefined;
    const dying: ActivityContextLike = {
      info: {},
      heartbeat(details) {
        const beat = structuredClone(details as PurgeHeartbeat);
        if (recorded.filter((b) => b.cursor.stepIndex === 1).length === 2) {
          lostBatch = beat;
          throw new Error('worker killed');
        }
        recorded.push(beat);
      },
    };
    await expect(activitiesIn(() => dying).purge({ requestId, target })).rejects.toThrow('worker killed');
    expect(await count('SELECT count(*)::int AS n FROM comments WHERE tenant_id = $1', [tenantId])).toBeGreaterThan(0);

    // Attempt 2: Temporal hands over the last heartbeat that arrived.
    const resumedBeats: PurgeHeartbeat[] = [];
    const resuming: ActivityContextLike = { info: { heartbeatDetails: recorded.at(-1) }, heartbeat: (d) => resumedBeats.push(d as PurgeHeartbeat) };
    const result = await activitiesIn(() => resuming).purge({ requestId, target });

    // It continued in the second table, not from the first.
    expect(lostBatch!.cursor.stepIndex).toBe(1);
    expect(resumedBeats[0].cursor.stepIndex).toBe(1);
    expect(resumedBeats[0].cursor.affectedRows[0]).toBe(counted.tables[0].pendingRows);
    expect(result.tables.map((t) => t.rows)).toEqual(counted.tables.map((t) => t.pendingRows));
    // What the batches were seen to affect misses exactly the batch whose heartbeat was lost.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(result.tables.map((t) => t.affectedRows))).toBe(sum(result.tables.map((t) => t.rows)) - lostBatch!.progress.affectedRows);
    expect((await activitiesIn().verifyScope({ requestId, target })).verified).toBe(true);
    expect(await count('SELECT count(*)::int AS n FROM users WHERE tenant_id = $1', [tenantId])).toBe(0);
  });
});

describe('retention purges', () => {
  it('take exactly the audit events older than the cutoff, and a dry run counts what the run then deletes', async () => {
    const tenantId = tenants[1].id;
    const old = 'tenant_id = $1 AND occurred_at < $2';
    const expected = await count(`SELECT count(*)::int AS n FROM audit_events WHERE ${old}`, [tenantId, CUTOFF]);
    const untouched = async () => [
      await digest('audit_events', `NOT (${old})`, [tenantId, CUTOFF]),
      await digest('users', 'true', []),
      await digest('invoices', 'true', []),
    ];
    const before = await untouched();
    expect(expected).toBeGreaterThan(0);

    const dryRun = await countExpired(appPool, map, { tenantId, table: 'audit_events', cutoff: CUTOFF });
    expect(dryRun.pendingRows).toBe(expected);
    expect(await count(`SELECT count(*)::int AS n FROM audit_events WHERE ${old}`, [tenantId, CUTOFF])).toBe(expected);

    const result = await purgeExpired(appPool, map, { tenantId, table: 'audit_events', cutoff: CUTOFF }, { tuning: SMALL_BATCHES });
    expect(result).toMatchObject({ count: { pendingRows: dryRun.pendingRows }, affectedRows: dryRun.pendingRows, remainingRows: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM audit_events WHERE ${old}`, [tenantId, CUTOFF])).toBe(0);
    expect(await untouched()).toEqual(before);
  });

  it('run through the activities with the same counting, and can anonymize instead of delete', async () => {
    const tenantId = tenants[2].id;
    const activities = activitiesIn();
    const dryRun = await activities.countExpired({ tenantId, table: 'audit_events', cutoff: CUTOFF });
    const target = { kind: 'retention' as const, tenantId, table: 'audit_events', cutoff: CUTOFF };
    const requestId = await newRequest(tenantId, 'retention');
    await activities.countScope({ requestId, target });
    expect((await activities.purge({ requestId, target })).tables).toMatchObject([{ table: { name: 'audit_events' }, rows: dryRun.pendingRows }]);
    expect((await activities.verifyScope({ requestId, target })).verified).toBe(true);

    const oldInvoices = 'tenant_id = $1 AND issued_at < $2';
    const newer = await digest('invoices', `NOT (${oldInvoices})`, [tenantId, CUTOFF]);
    const invoices = { kind: 'retention' as const, tenantId, table: 'invoices', ageColumn: 'issued_at', cutoff: CUTOFF,
      action: { action: 'anonymize' as const, columns: { billing_name: 'redact' as const, billing_email: 'hash' as const } } };
    const expected = await count(`SELECT count(*)::int AS n FROM invoices WHERE ${oldInvoices}`, [tenantId, CUTOFF]);
    const invoiceRequest = await newRequest(tenantId, 'retention');
    await activities.countScope({ requestId: invoiceRequest, target: invoices });
    expect((await activities.purge({ requestId: invoiceRequest, target: invoices })).tables[0]).toMatchObject({ action: 'anonymize', rows: expected });
    expect(await count(`SELECT count(*)::int AS n FROM invoices WHERE ${oldInvoices} AND billing_name <> '[redacted]'`, [tenantId, CUTOFF])).toBe(0);
    expect(await digest('invoices', `NOT (${oldInvoices})`, [tenantId, CUTOFF])).toBe(newer);
  });
});

describe('batches under contention', () => {
  it('wait out a row another transaction holds: lock_timeout ends the wait, the batch retries smaller and finishes', async () => {
    const tenantId = tenants[3].id;
    const holder = new Client({ connectionString: app.adminUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM audit_events WHERE tenant_id = $1 ORDER BY id LIMIT 1 FOR UPDATE', [tenantId]);
    const released = new Promise<void>((resolve) => setTimeout(() => void holder.query('COMMIT').then(() => resolve()), 1_000));
    const started = performance.now();
    try {
      const result = await purgeExpired(appPool, map, { tenantId, table: 'audit_events', cutoff: '2100-01-01T00:00:00Z' },
        { tuning: { ...SMALL_BATCHES, lockTimeoutMs: 100, retryBaseMs: 50, maxAttempts: 30 } });
      expect(result.remainingRows).toBe(0);
      expect(result.affectedRows).toBe(result.count.pendingRows);
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await released;
      await holder.end();
    }
  });
});

