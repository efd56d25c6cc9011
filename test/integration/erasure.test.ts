import { createHmac, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataMap } from '../../src/datamap/datamap.types';
import { TenantSummary } from '../../src/demo/generator';
import { createErasureActivities, ErasureActivities } from '../../src/erasure/erasure.activities';
import { planPurge } from '../../src/erasure/plan';
import { hashSubject } from '../../src/receipts/subject-hash';
import { ScratchDatabase } from '../helpers/db';
import { ErasureTestEnv, openErasureTestEnv } from '../helpers/erasure-env';

const SUBJECT_SECRET = 'a test secret of at least thirty-two bytes';
const TENANT_TABLES = ['audit_events', 'comments', 'documents', 'invoices', 'projects', 'users'];

let app: ScratchDatabase;
let admin: Client;
let appPool: Pool;
let catalogPool: Pool;
let map: DataMap;
let tenants: TenantSummary[];
let activities: ErasureActivities;

let env: ErasureTestEnv;

beforeAll(async () => {
  env = await openErasureTestEnv('erasure', 11);
  ({ app, tenants, admin, appPool, catalogPool, map } = env);
  // Small batches, so even these small tenants take several.
  activities = createErasureActivities({ appPool, catalogPool, loadDataMap: async () => map, subjectHashSecret: SUBJECT_SECRET, tuning: { initialBatchRows: 100, minBatchRows: 50 } });
});

afterAll(async () => {
  await env?.close();
});

const newRequest = (tenantId: string) => env.newRequest(tenantId);

const digest = (table: string, where: string, params: unknown[] = []) => env.digest(table, where, params);

/** One admin connection runs one query at a time: map in order, not with Promise.all. */
async function inTurn<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

async function countRows(table: string, where: string, params: unknown[]): Promise<number> {
  return (await admin.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params)).rows[0].n;
}

async function erase(requestId: string, target: Parameters<ErasureActivities['countScope']>[0]['target']) {
  const counted = await activities.countScope({ requestId, target });
  const purged = await activities.purge({ requestId, target });
  const verified = await activities.verifyScope({ requestId, target });
  return { counted, purged, verified };
}

const rowsOf = (result: { tables: Array<{ table: { name: string }; rows: number }> }) =>
  Object.fromEntries(result.tables.map((t) => [t.table.name, t.rows]));

describe('tenant erasure', () => {
  it('deletes every row of the tenant, anonymizes its invoices and leaves other tenants byte-identical', async () => {
    const victim = tenants[1].id;
    const others = async () => [...await inTurn(TENANT_TABLES, (t) => digest(t, 'tenant_id <> $1', [victim])), await digest('tenants', 'id <> $1', [victim]), await digest('plans', 'true')];
    const before = await others();
    const expected = Object.fromEntries(await inTurn(TENANT_TABLES, async (t) => [t, await countRows(t, 'tenant_id = $1', [victim])]));
    const emails = (await admin.query('SELECT id, billing_email FROM invoices WHERE tenant_id = $1', [victim])).rows;

    const requestId = await newRequest(victim);
    const { counted, purged, verified } = await erase(requestId, { kind: 'tenant', tenantId: victim });

    expect(rowsOf(purged)).toEqual({ ...expected, tenants: 0 });
    expect(counted.tables.find((t) => t.table.name === 'tenants')).toMatchObject({ pendingRows: 0, retainedRows: 1 });
    expect(verified.verified).toBe(true);
    for (const table of TENANT_TABLES.filter((t) => t !== 'invoices')) expect(await countRows(table, 'tenant_id = $1', [victim]), table).toBe(0);
    expect(await others()).toEqual(before);

    // Invoices stay, stripped of the person; the e-mail is HMAC-SHA-256 under the tenant's key, computed in SQL.
    const key = (await catalogPool.query('SELECT hash_key FROM tenant_hash_keys WHERE tenant_id = $1', [victim])).rows[0].hash_key as Buffer;
    const after = new Map((await admin.query('SELECT id, billed_user_id, billing_name, billing_email, billing_address FROM invoices WHERE tenant_id = $1', [victim])).rows.map((r) => [r.id, r]));
    expect(after.size).toBe(expected.invoices);
    for (const { id, billing_email } of emails) {
      expect(after.get(id)).toEqual({
        id, billed_user_id: null, billing_name: '[redacted]', billing_address: '[redacted]',
        billing_email: `hmac:${createHmac('sha256', key).update(billing_email).digest('hex')}`,
      });
    }
    expect(verified.tables.find((t) => t.table.name === 'invoices')).toMatchObject({ remainingRows: 0, keptRows: expected.invoices });
  });

  it('repeating count, purge and verify changes nothing and reports the same counts', async () => {
    const victim = tenants[2].id;
    const requestId = await newRequest(victim);
    const first = await erase(requestId, { kind: 'tenant', tenantId: victim });
    const again = await erase(requestId, { kind: 'tenant', tenantId: victim });
    expect(again.counted).toEqual(first.counted);
    expect(rowsOf(again.purged)).toEqual(rowsOf(first.purged));
    expect(again.purged.tables.every((t) => t.affectedRows === 0)).toBe(true);
    expect(again.verified.verified).toBe(true);
  });
});

describe('subject erasure', () => {
  it('removes one user from every table that reaches them, anonymizes their invoices and keeps the rest of the tenant', async () => {
    const tenantId = tenants[0].id;
    // The user reaching the most rows: owns projects, wrote documents and comments, was billed.
    const { rows: [user] } = await admin.query(`
      SELECT u.id, u.email FROM users u WHERE u.tenant_id = $1
      ORDER BY (SELECT count(*) FROM projects p WHERE p.tenant_id = u.tenant_id AND p.owner_id = u.id) DESC,
               (SELECT count(*) FROM invoices i WHERE i.tenant_id = u.tenant_id AND i.billed_user_id = u.id) DESC, u.id LIMIT 1`, [tenantId]);
    const gone: Record<string, string> = {
      users: 'id = $2',
      projects: 'owner_id = $2',
      documents: 'author_id = $2 OR project_id IN (SELECT id FROM projects WHERE tenant_id = $1 AND owner_id = $2)',
      comments: `author_id = $2 OR document_id IN (SELECT id FROM documents WHERE tenant_id = $1 AND (author_id = $2
                 OR project_id IN (SELECT id FROM projects WHERE tenant_id = $1 AND owner_id = $2)))`,
      audit_events: 'actor_id = $2',
    };
    const expected = Object.fromEntries(await inTurn(Object.entries(gone), async ([t, w]) => [t, await countRows(t, `tenant_id = $1 AND (${w})`, [tenantId, user.id])]));
    const billed = (await admin.query('SELECT id FROM invoices WHERE tenant_id = $1 AND billed_user_id = $2', [tenantId, user.id])).rows.map((r) => r.id);
    expect(expected.projects).toBeGreaterThan(0);
    expect(billed.length).toBeGreaterThan(0);
    const rest = async () => [
      ...await inTurn(Object.entries(gone), ([t, w]) => digest(t, `NOT (tenant_id = $1 AND (${w}))`, [tenantId, user.id])),
      await digest('invoices', 'NOT (id = ANY($1))', [billed]),
    ];
    const before = await rest();

    const requestId = await newRequest(tenantId);
    const { counted, purged, verified } = await erase(requestId, { kind: 'subject', tenantId, subject: { column: 'email', value: user.email } });

    expect(counted.subjectFound).toBe(true);
    expect(rowsOf(purged)).toEqual({ ...expected, invoices: billed.length });
    expect(verified.verified).toBe(true);
    for (const [t, w] of Object.entries(gone)) expect(await countRows(t, `tenant_id = $1 AND (${w})`, [tenantId, user.id]), t).toBe(0);
    const invoices = (await admin.query('SELECT billed_user_id, billing_name, billing_email FROM invoices WHERE id = ANY($1)', [billed])).rows;
    expect(invoices.every((i) => i.billed_user_id === null && i.billing_name === '[redacted]' && /^hmac:[0-9a-f]{64}$/.test(i.billing_email))).toBe(true);
    expect(await rest()).toEqual(before);
  });

  it('treats an unknown subject, or a value full of quotes and SQL, as erasing nothing', async () => {
    const tenantId = tenants[3].id;
    const before = await inTurn(TENANT_TABLES, (t) => digest(t, 'true'));
    for (const subject of [
      { column: 'email', value: `nobody@example.invalid' OR '1'='1` },
      { column: 'email', value: `x'); DELETE FROM users; --` },
      { column: 'id', value: `1 OR 1=1` },
      { column: 'id', value: '99999999999999999999999' },
    ]) {
      const requestId = await newRequest(tenantId);
      const { counted, purged, verified } = await erase(requestId, { kind: 'subject', tenantId, subject });
      expect(counted.subjectFound).toBe(false);
      expect(purged.tables.every((t) => t.rows === 0 && t.affectedRows === 0)).toBe(true);
      expect(verified.verified).toBe(true);
    }
    expect(await inTurn(TENANT_TABLES, (t) => digest(t, 'true'))).toEqual(before);
  });

  it('refuses a subject column that is not an identity column, and an unknown tenant', async () => {
    const requestId = await newRequest(tenants[3].id);
    await expect(activities.countScope({ requestId, target: { kind: 'subject', tenantId: tenants[3].id, subject: { column: 'full_name', value: 'x' } } }))
      .rejects.toMatchObject({ code: 'unknown_subject_column' });
    await expect(activities.countScope({ requestId, target: { kind: 'tenant', tenantId: randomUUID() } })).rejects.toMatchObject({ code: 'tenant_not_found' });
    await expect(activities.countScope({ requestId, target: { kind: 'tenant', tenantId: 'not-a-uuid' } })).rejects.toMatchObject({ code: 'invalid_tenant_id' });
  });
});

describe('the RLS fence', () => {
  it('lets a batch statement touch nothing without the tenant setting, or under another tenant', async () => {
    const [victim, other] = [tenants[3].id, tenants[0].id];
    const step = planPurge(map, { kind: 'tenant', tenantId: victim }).steps.find((s) => s.table.name === 'audit_events')!;
    const before = await digest('audit_events', 'true');
    const service = new Client({ connectionString: app.serviceUrl });
    await service.connect();
    try {
      // As the service role, straight through: no set_config, so the policy sees no tenant.
      expect((await service.query(step.batch.sql, [victim, 1000])).rowCount).toBe(0);
      await service.query('BEGIN');
      await service.query(`SELECT set_config('app.current_tenant_id', $1, true)`, [other]);
      expect((await service.query(step.batch.sql, [victim, 1000])).rowCount).toBe(0);
      await service.query('ROLLBACK');
    } finally {
      await service.end();
    }
    expect(await digest('audit_events', 'true')).toBe(before);
    expect(await countRows('audit_events', 'tenant_id = $1', [victim])).toBeGreaterThan(0);
  });
});

describe('eligibility and tombstones', () => {
  it('blocks a tenant under legal hold, before and during the purge', async () => {
    const tenantId = tenants[3].id;
    await catalogPool.query(`INSERT INTO legal_holds (tenant_id, reason, placed_by) VALUES ($1, 'litigation', 'test')`, [tenantId]);
    try {
      expect(await activities.checkEligibility({ tenantId })).toMatchObject({ eligible: false, legalHold: { reason: 'litigation' } });
      const requestId = await newRequest(tenantId);
      await activities.countScope({ requestId, target: { kind: 'tenant', tenantId } });
      await expect(activities.purge({ requestId, target: { kind: 'tenant', tenantId } })).rejects.toMatchObject({ code: 'legal_hold' });
      expect(await countRows('users', 'tenant_id = $1', [tenantId])).toBeGreaterThan(0);
    } finally {
      await catalogPool.query('DELETE FROM legal_holds WHERE tenant_id = $1', [tenantId]);
    }
    expect(await activities.checkEligibility({ tenantId })).toMatchObject({ eligible: true, legalHold: null });
  });

  it('records one tombstone per tenant or subject, the subject only as the keyed hash receipts use', async () => {
    const tenantId = tenants[3].id;
    const subject = { column: 'email', value: 'someone@example.com' };
    const first = await activities.recordTombstone({ requestId: await newRequest(tenantId), tenantId, subject });
    const second = await activities.recordTombstone({ requestId: await newRequest(tenantId), tenantId, subject });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, tombstone: first.tombstone });
    expect(first.subjectHash).toBe(hashSubject(SUBJECT_SECRET, tenantId, subject.value));
    const stored = await catalogPool.query('SELECT subject_hash FROM tombstones WHERE tenant_id = $1', [tenantId]);
    expect(JSON.stringify(stored.rows)).not.toContain('someone');
    expect((await activities.checkEligibility({ tenantId, subject })).tombstone).toEqual(first.tombstone);
    expect((await activities.checkEligibility({ tenantId })).tombstone).toBeNull();
  });

  it('shreds a tenant\'s hash key for good: nothing hashes under it again, and no new key replaces it', async () => {
    const tenantId = tenants[3].id;
    await activities.shredHashKey({ tenantId });
    await activities.shredHashKey({ tenantId });
    const requestId = await newRequest(tenantId);
    const target = { kind: 'subject' as const, tenantId, subject: { column: 'id', value: '1' } };
    await activities.countScope({ requestId, target });
    await expect(activities.purge({ requestId, target })).rejects.toMatchObject({ code: 'hash_key_shredded' });
    const { rows } = await catalogPool.query('SELECT hash_key, shredded_at FROM tenant_hash_keys WHERE tenant_id = $1', [tenantId]);
    expect(rows).toEqual([{ hash_key: null, shredded_at: expect.any(Date) }]);
  });
});
