import { randomUUID } from 'node:crypto';
import { escapeIdentifier as q } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap } from '../../src/datamap/datamap.types';
import { discoverDataMap } from '../../src/datamap/discover';
import { DomainError } from '../../src/errors';
import { runRestore } from '../../src/restore/run-restore';
import { createRestoreEnv, Instant, RestoreEnv } from '../helpers/restore-env';

/**
 * A migration dropped a column, and someone needs the data it held: a
 * restore to before the DROP COLUMN stages the column (as text, its values
 * as they were), and an in-place restore brings back every other column of
 * the rows as they were then. A restore whose replay crosses the drop is
 * still refused.
 */
let env: RestoreEnv;
let A: string;
let liveMap: DataMap;
let beforeDrop: Instant;
let afterDrop: Instant;

/** Rows as JSON (so column order does not matter), every column, or without the dropped one. */
const everyColumn = ['no such column'];
const withoutDropped = ['legacy_code'];

beforeAll(async () => {
  env = await createRestoreEnv('dropcol', { seed: 1083, tenants: 2, rowsPerTenant: 40 });
  [A] = env.tenants.map((t) => t.id);
  await env.archiver.ensure();
  await env.admin.query('ALTER TABLE users ADD COLUMN legacy_code text');
  await env.admin.query(`UPDATE users SET legacy_code = 'L-' || id WHERE tenant_id = $1`, [A]);
  const mapWithColumn = await discoverDataMap(env.appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  await env.snapshot(A, mapWithColumn);
  await env.admin.query(`UPDATE users SET legacy_code = 'changed after the snapshot', full_name = 'Before The Drop' WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [A]);
  beforeDrop = await env.instant(A, everyColumn);
  await env.admin.query('ALTER TABLE users DROP COLUMN legacy_code');
  await env.admin.query(`UPDATE users SET full_name = 'After The Drop' WHERE tenant_id = $1`, [A]);
  afterDrop = await env.instant(A, everyColumn);
  await env.archiver.archiveOnce();
  // The service discovers the data map from the live database: without the column now.
  liveMap = await discoverDataMap(env.appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  expect(liveMap.tables.find((t) => t.name === 'users')!.columns.map((c) => c.name)).not.toContain('legacy_code');
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe('a restore to before a DROP COLUMN', () => {
  it('stages the dropped column with its values as they were, including changes replayed after the snapshot', async () => {
    const result = await env.restore(A, { lsn: beforeDrop.lsn }, { map: liveMap });
    expect(await env.contents(A, result.schema, everyColumn)).toEqual(beforeDrop.contents);
    const { rows } = await env.admin.query<{ legacy_code: string }>(
      `SELECT legacy_code FROM ${q(result.schema)}.users WHERE tenant_id = $1 AND full_name = 'Before The Drop'`, [A]);
    expect(rows).toEqual([{ legacy_code: 'changed after the snapshot' }]);
  });

  it('in place, brings back every live column of the rows as they were', async () => {
    await env.restore(A, { lsn: beforeDrop.lsn }, { map: liveMap, mode: 'in-place' });
    const { contents } = await env.instant(A, withoutDropped);
    const expected = Object.fromEntries(Object.entries(beforeDrop.contents).map(([table, rows]) =>
      [table, rows.map((r) => { const row = JSON.parse(r) as Record<string, unknown>; delete row.legacy_code; return JSON.stringify(row); })]));
    expect(normalize(contents)).toEqual(normalize(expected));
  });

  it('still refuses a replay that crosses the drop', async () => {
    const error = await runRestore(env.restoreDeps, liveMap, { restoreId: randomUUID(), tenantId: A, target: { lsn: afterDrop.lsn }, mode: 'staging' }).catch((e: unknown) => e);
    expect((error as DomainError).code).toBe('restore_spans_schema_change');
    expect((error as DomainError).message).toContain('DROP COLUMN legacy_code');
  });
});

/** JSON rows compared as values, whatever their key order. */
function normalize(contents: Record<string, string[]>): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(contents).map(([table, rows]) => [table, rows.map((r) => JSON.parse(r) as unknown)]));
}
