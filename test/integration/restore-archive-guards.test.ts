import { randomUUID } from 'node:crypto';
import { escapeIdentifier as q } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { DomainError } from '../../src/errors';
import { parseLsn } from '../../src/restore/lsn';
import { preflightReplayRange } from '../../src/restore/replay-range';
import { runRestore } from '../../src/restore/run-restore';
import { restoredTables } from '../../src/restore/staging';
import { createRestoreEnv, RestoreEnv } from '../helpers/restore-env';

/*
 * What the archive refuses to paper over: a schema change of a restored table
 * (PG15 does not decode DDL; the event trigger marks it in the WAL) and a gap
 * (the slot lost, dropped or recreated). Restores across either are a 409;
 * restores on either side of them still work.
 */

let env: RestoreEnv;
let A: string;
let B: string;

/** Leaves out the column the schema change adds, so contents compare across it. */
const contents = (tenantId: string, schema?: string) => env.contents(tenantId, schema, ['nickname']);
const instant = (tenantId: string) => env.instant(tenantId, ['nickname']);
const restore = (tenantId: string, target: { time: string } | { lsn: string }, map: DataMap = env.map) => env.restore(tenantId, target, { map });

async function refusal(tenantId: string, target: { time: string } | { lsn: string }): Promise<DomainError> {
  const error = await runRestore(env.restoreDeps, env.map, { restoreId: randomUUID(), tenantId, target, mode: 'staging' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  // The API answers the same before a workflow starts.
  const early = await preflightReplayRange(env.catalogPool, restoredTables(env.map), tenantId, target).catch((e: unknown) => e);
  expect(early).toBeInstanceOf(DomainError);
  expect((early as DomainError).code).toBe((error as DomainError).code);
  return error as DomainError;
}

beforeAll(async () => {
  env = await createRestoreEnv('rguard', { seed: 1023, tenants: 2, rowsPerTenant: 40 });
  [A, B] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe('a schema change in the archive', () => {
  let beforeDdl: Awaited<ReturnType<typeof instant>>;
  let afterDdl: Awaited<ReturnType<typeof instant>>;

  beforeAll(async () => {
    await env.snapshot(A);
    await env.admin.query(`UPDATE users SET full_name = 'before the migration' WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [A]);
    beforeDdl = await instant(A);
    await env.admin.query('ALTER TABLE users ADD COLUMN nickname text');
    await env.admin.query(`INSERT INTO users (tenant_id, email, full_name, nickname) VALUES ($1, 'after@a.example', 'After Migration', 'nick')`, [A]);
    afterDdl = await instant(A);
    await env.archiver.archiveOnce();
  }, 120_000);

  it('is recorded in the archive index from the event trigger’s marker, at its LSN', async () => {
    const { rows } = await env.catalogPool.query<{ table_name: string; command_tag: string; statement: string; source: string; lsn: string; commit_lsn: string }>(
      `SELECT table_name, command_tag, statement, source, lsn::text, commit_lsn::text FROM wal_schema_changes WHERE slot_name = $1`, [env.slot]);
    const marker = rows.find((r) => r.source === 'event-trigger' && r.table_name === 'users');
    expect(marker).toMatchObject({ command_tag: 'ALTER TABLE', statement: 'ALTER TABLE users ADD COLUMN nickname text' });
    expect(parseLsn(marker!.commit_lsn) >= parseLsn(beforeDdl.lsn)).toBe(true);
    expect(parseLsn(marker!.commit_lsn) < parseLsn(afterDdl.lsn)).toBe(true);
    expect(parseLsn(marker!.lsn) <= parseLsn(marker!.commit_lsn)).toBe(true);
  });

  it('stops a restore whose replay crosses it with a 409 naming the table, the DDL and the LSN', async () => {
    for (const target of [{ lsn: afterDdl.lsn }, { time: afterDdl.time }]) {
      const error = await refusal(A, target);
      expect(error.kind).toBe('conflict');
      expect(error.code).toBe('restore_spans_schema_change');
      expect(error.message).toContain('table public.users');
      expect(error.message).toContain('ALTER TABLE users ADD COLUMN nickname text');
      expect(error.details).toMatchObject({ table: 'public.users', command: 'ALTER TABLE' });
      expect(error.message).toContain(String(error.details!.lsn));
    }
  });

  it('restores to a target before it, exactly', async () => {
    const result = await restore(A, { lsn: beforeDdl.lsn });
    expect(await contents(A, result.schema)).toEqual(beforeDdl.contents);
    const byTime = await restore(A, { time: beforeDdl.time });
    expect(await contents(A, byTime.schema)).toEqual(beforeDdl.contents);
  });

  it('does not stop a tenant whose snapshot was taken after it', async () => {
    const map = await discoverDataMap(env.appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
    await env.snapshot(A, map);
    await env.admin.query(`UPDATE users SET nickname = 'renamed' WHERE tenant_id = $1 AND email = 'after@a.example'`, [A]);
    const now = await instant(A);
    await env.archiver.archiveOnce();
    const result = await restore(A, { lsn: now.lsn }, map);
    expect(await contents(A, result.schema)).toEqual(now.contents);
    const { rows } = await env.admin.query<{ nickname: string }>(`SELECT nickname FROM ${q(result.schema)}.users WHERE tenant_id = $1 AND email = 'after@a.example'`, [A]);
    expect(rows[0].nickname).toBe('renamed');
  });
});

describe('a gap in the archive', () => {
  it('is recorded when the slot is dropped and recreated behind the archiver, and restores across it are refused', async () => {
    await env.snapshot(B);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'before the gap')`, [B]);
    const beforeGap = await instant(B);
    await env.archiver.archiveOnce();
    const archivedBefore = await env.archiver.archivedLsn();

    // What invalidation by max_slot_wal_keep_size amounts to: WAL nobody decoded, then a slot that starts later.
    await env.admin.query('SELECT pg_drop_replication_slot($1)', [env.slot]);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'lost in the gap')`, [B]);
    await env.admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [env.slot]);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'after the gap')`, [B]);
    const afterGap = await instant(B);

    const drained = await env.archiver.archiveOnce();
    expect(drained.gap).toMatchObject({ fromLsn: archivedBefore, reason: expect.stringContaining('recreated') });
    const { rows } = await env.catalogPool.query<{ from_lsn: string; to_lsn: string }>('SELECT from_lsn::text, to_lsn::text FROM wal_archive_gaps WHERE slot_name = $1', [env.slot]);
    expect(rows).toEqual([{ from_lsn: archivedBefore, to_lsn: drained.gap!.toLsn }]);

    for (const target of [{ lsn: afterGap.lsn }, { time: afterGap.time }]) {
      const error = await refusal(B, target);
      expect(error.code).toBe('restore_spans_archive_gap');
      expect(error.message).toContain(`from LSN ${archivedBefore}`);
    }
    // Before the gap the archive is whole.
    const before = await restore(B, { lsn: beforeGap.lsn });
    expect(await contents(B, before.schema)).toEqual(beforeGap.contents);
    // A snapshot after the gap carries later targets again.
    await env.snapshot(B);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'after the new snapshot')`, [B]);
    const later = await instant(B);
    await env.archiver.archiveOnce();
    const after = await restore(B, { lsn: later.lsn });
    expect(await contents(B, after.schema)).toEqual(later.contents);
  });

  it('is recorded when the slot is simply gone, and the archiver carries on with a new slot', async () => {
    const archivedBefore = await env.archiver.archivedLsn();
    await env.admin.query('SELECT pg_drop_replication_slot($1)', [env.slot]);
    await env.admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'lost again')`, [B]);
    const drained = await env.archiver.archiveOnce();
    expect(drained.gap).toMatchObject({ fromLsn: archivedBefore, reason: expect.stringContaining('was dropped') });
    const { rows } = await env.admin.query<{ confirmed: string }>('SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1', [env.slot]);
    expect(rows[0].confirmed).toBe(drained.archivedLsn);
  });
});
