import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR, readMigrations } from '../../src/db/migrate';
import { RequestsRepository } from '../../src/requests/requests.repository';
import { createScratchDatabase, ScratchDatabase } from '../helpers/db';

describe('catalog migrations and the requests table', () => {
  let db: ScratchDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createScratchDatabase('catalog');
    pool = new Pool({ connectionString: db.adminUrl });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('applies every migration once, even when several instances start together', async () => {
    const runs = await Promise.all([migrate(db.adminUrl), migrate(db.adminUrl), migrate(db.adminUrl)]);
    expect(runs.flat().map((m) => m.version)).toEqual(readMigrations().map((m) => m.version));
    expect(await migrate(db.adminUrl)).toEqual([]);
    const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
  });

  it('refuses to run when an applied migration was edited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    writeFileSync(join(dir, '000001_catalog.sql'), '-- edited\nSELECT 1;');
    await expect(migrate(db.adminUrl, dir)).rejects.toThrow(/changed after it was applied/);
  });

  it('keeps the request trail append-only', async () => {
    const repo = new RequestsRepository(pool);
    const { request } = await repo.create({
      id: crypto.randomUUID(), kind: 'export', tenantId: 't1', params: {}, workflowId: `w-${crypto.randomUUID()}`, requestedBy: 'op',
    });
    await repo.transition(request.id, 'running', 'workflow');
    await repo.transition(request.id, 'succeeded', 'workflow', { result: { rows: 3 } });
    await repo.transition(request.id, 'failed', 'workflow');
    expect((await repo.get(request.id))?.status).toBe('succeeded');
    const events = await pool.query('SELECT event, from_status, to_status FROM request_events WHERE request_id = $1 ORDER BY id', [request.id]);
    expect(events.rows).toEqual([
      { event: 'requested', from_status: null, to_status: 'queued' },
      { event: 'status', from_status: 'queued', to_status: 'running' },
      { event: 'status', from_status: 'running', to_status: 'succeeded' },
    ]);
    await expect(pool.query('UPDATE request_events SET actor = $1', ['someone'])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM request_events')).rejects.toThrow(/append-only/);
  });

  it('returns the first request for a reused Idempotency-Key and refuses a different body', async () => {
    const repo = new RequestsRepository(pool);
    const base = { kind: 'export' as const, tenantId: 't1', params: {}, requestedBy: 'op', idempotencyKey: 'key-1', bodySha256: 'aaa' };
    const first = await repo.create({ ...base, id: crypto.randomUUID(), workflowId: `w-${crypto.randomUUID()}` });
    const again = await repo.create({ ...base, id: crypto.randomUUID(), workflowId: `w-${crypto.randomUUID()}` });
    expect(first.created).toBe(true);
    expect(again).toEqual({ request: first.request, created: false });
    await expect(repo.create({ ...base, bodySha256: 'bbb', id: crypto.randomUUID(), workflowId: `w-${crypto.randomUUID()}` }))
      .rejects.toMatchObject({ code: 'idempotency_key_reused' });
  });
});
