import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors';
import { hashSubject } from '../../src/receipts/subject-hash';
import { dropStagingRestore, eraseInStagings, expireStagings, promoteStaging } from '../../src/restore/staging-lifecycle';
import { StagingRegistry } from '../../src/restore/staging-registry';
import { swapInPlace } from '../../src/restore/swap';
import { waitForSwaps } from '../../src/restore/swap-guard';
import { createRestoreEnv, Instant, RestoreEnv } from '../helpers/restore-env';

/**
 * A staging restore's schema after the restore: promoted, dropped, expired,
 * reached by erasures; and the lock that keeps a swap from bringing back a
 * subject erased while it ran.
 */
let env: RestoreEnv;
let A: string;
let B: string;
let registry: StagingRegistry;
let remembered: Instant;

const schemaExists = async (schema: string) =>
  (await env.admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;

/** A staging restore of `tenant` to the remembered instant (tenant A) or to now. */
async function stage(tenant = A, target = remembered.lsn) {
  return env.restore(tenant, { lsn: target }, { mode: 'staging' });
}

/** What an erasure records first: its request and the tombstone (the subject's hash, or the whole tenant). */
async function tombstone(tenant: string, email: string | null): Promise<void> {
  const requestId = randomUUID();
  const subjectHash = email === null ? null : hashSubject(env.restoreDeps.subjectHashSecret, tenant, email);
  await env.catalogPool.query(
    `INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by, params, status) VALUES ($1, 'erasure', $2, $3, 'test', jsonb_build_object('subjectHash', $4::text), 'succeeded')`,
    [requestId, tenant, `erasure:${tenant}:${requestId}`, subjectHash]);
  await env.catalogPool.query('INSERT INTO tombstones (tenant_id, subject_hash, request_id) VALUES ($1, $2, $3)', [tenant, subjectHash, requestId]);
}

async function newUser(tenant: string, email: string): Promise<void> {
  await env.admin.query(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, $2, 'Staging Person')`, [tenant, email]);
}

const hasUser = (contents: Record<string, string[]>, email: string) => contents.users.some((r) => r.includes(email));

beforeAll(async () => {
  env = await createRestoreEnv('staging', { seed: 1063, tenants: 3, rowsPerTenant: 60 });
  [A, B] = env.tenants.map((t) => t.id);
  registry = new StagingRegistry(env.catalogPool);
  await env.archiver.ensure();
  await env.snapshot(A);
  await env.snapshot(B);
  await newUser(A, 'kept@a.example');
  await newUser(A, 'erased-later@a.example');
  remembered = await env.instant(A);
  // What the promotes undo: a bad import after the remembered instant.
  await env.admin.query(`UPDATE users SET full_name = 'Bad Import' WHERE tenant_id = $1`, [A]);
  await env.admin.query(`DELETE FROM users WHERE tenant_id = $1 AND email = 'kept@a.example'`, [A]);
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe('staging restore lifecycle', () => {
  it('registers the schema, staged with its row counts, and a promote swaps exactly those rows in and drops the schema', async () => {
    const result = await stage();
    const [row] = await registry.list(A, { live: true, limit: 1 });
    expect(row).toMatchObject({ tenantId: A, schema: result.schema, state: 'staged', rows: result.rows });
    expect(new Date(row.expiresAt).getTime() - new Date(row.createdAt).getTime()).toBe(3 * 24 * 3600 * 1000);
    expect(await env.contents(A)).not.toEqual(remembered.contents);

    const requestId = randomUUID();
    const promoted = await promoteStaging(env.restoreDeps, env.map, { restoreId: row.restoreId, tenantId: A, requestId, by: 'operator@test' });
    expect(await env.contents(A)).toEqual(remembered.contents);
    expect(promoted.rows).toEqual(result.rows);
    expect(await schemaExists(result.schema)).toBe(false);
    expect(await registry.find(A, row.restoreId)).toMatchObject({ state: 'promoted', endedBy: 'operator@test' });

    // A retry of the same request answers; another promote of the same restore is refused.
    await expect(promoteStaging(env.restoreDeps, env.map, { restoreId: row.restoreId, tenantId: A, requestId, by: 'operator@test' })).resolves.toBeTruthy();
    const again = await promoteStaging(env.restoreDeps, env.map, { restoreId: row.restoreId, tenantId: A, requestId: randomUUID(), by: 'x' }).catch((e: unknown) => e);
    expect((again as DomainError).code).toBe('restore_promoted');
  }, 60_000);

  it('an in-place restore drops its schema after the swap', async () => {
    await env.admin.query(`UPDATE users SET full_name = 'Bad Import Again' WHERE tenant_id = $1`, [A]);
    const result = await env.restore(A, { lsn: remembered.lsn }, { mode: 'in-place' });
    expect(await env.contents(A)).toEqual(remembered.contents);
    expect(await schemaExists(result.schema)).toBe(false);
    const [row] = await registry.list(A, { limit: 1 });
    expect(row).toMatchObject({ schema: result.schema, state: 'promoted', endedBy: 'in-place restore' });
  }, 60_000);

  it('refuses to promote a schema changed by hand since it staged, and changes nothing live', async () => {
    await env.admin.query(`UPDATE users SET full_name = 'Changed Since' WHERE tenant_id = $1`, [A]);
    const live = await env.contents(A);
    const result = await stage();
    const [row] = await registry.list(A, { live: true, limit: 1 });
    await env.admin.query(`DELETE FROM ${result.schema}.comments`);
    const error = await promoteStaging(env.restoreDeps, env.map, { restoreId: row.restoreId, tenantId: A, requestId: randomUUID(), by: 'x' }).catch((e: unknown) => e);
    expect((error as DomainError).code).toBe('restore_staging_changed');
    expect((error as DomainError).message).toContain('comments');
    expect(await env.contents(A)).toEqual(live);
    expect((await registry.find(A, row.restoreId))!.state).toBe('staged');
  }, 60_000);

  it('drops on request, idempotently; another tenant cannot name the restore; a promote after the drop is refused', async () => {
    const result = await stage();
    const [row] = await registry.list(A, { live: true, limit: 1 });
    const deps = { appPool: env.appPool, catalogPool: env.catalogPool };
    const wrongTenant = await dropStagingRestore(deps, { tenantId: B, restoreId: row.restoreId, by: 'x' }).catch((e: unknown) => e);
    expect((wrongTenant as DomainError).code).toBe('restore_not_found');
    expect(await schemaExists(result.schema)).toBe(true);

    expect(await dropStagingRestore(deps, { tenantId: A, restoreId: row.restoreId, by: 'operator@test' })).toMatchObject({ state: 'dropped', endedBy: 'operator@test' });
    expect(await schemaExists(result.schema)).toBe(false);
    expect((await dropStagingRestore(deps, { tenantId: A, restoreId: row.restoreId, by: 'y' })).endedBy).toBe('operator@test');
    const promote = await promoteStaging(env.restoreDeps, env.map, { restoreId: row.restoreId, tenantId: A, requestId: randomUUID(), by: 'x' }).catch((e: unknown) => e);
    expect((promote as DomainError).code).toBe('restore_dropped');
  }, 60_000);

  it('expires schemas past RESTORE_STAGING_TTL, except one whose restore is still running', async () => {
    const first = await stage(B, (await env.instant(B)).lsn);
    const second = await stage(B, (await env.instant(B)).lsn);
    const [secondRow, firstRow] = await registry.list(B, { live: true, limit: 2 });
    expect([secondRow.schema, firstRow.schema]).toEqual([second.schema, first.schema]);
    await env.catalogPool.query(`INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by, params, status) VALUES ($1, 'restore', $2, $3, 'test', '{}', 'running')`,
      [secondRow.restoreId, B, `restore:${B}:${secondRow.restoreId}`]);

    expect(await expireStagings(env.restoreDeps, new Date())).toEqual([]);
    const dropped = await expireStagings(env.restoreDeps, new Date(Date.now() + 4 * 24 * 3600 * 1000));
    expect(dropped).toContain(firstRow.restoreId);
    expect(dropped).not.toContain(secondRow.restoreId);
    expect(await schemaExists(first.schema)).toBe(false);
    expect(await schemaExists(second.schema)).toBe(true);
    expect((await registry.find(B, firstRow.restoreId))!.endedBy).toBe('expiry');
  }, 60_000);
});

describe('erasures reach staging schemas', () => {
  it('a subject erasure erases the subject in a staged schema and recounts it; the promote then keeps the subject out', async () => {
    const result = await stage();
    expect(hasUser(await env.contents(A, result.schema), 'erased-later@a.example')).toBe(true);
    const [row] = await registry.list(A, { live: true, limit: 1 });

    await tombstone(A, 'erased-later@a.example');
    expect(await eraseInStagings(env.restoreDeps, env.map, { tenantId: A, wholeTenant: false })).toMatchObject({ subjectsErased: 1 });
    const staged = await env.contents(A, result.schema);
    expect(hasUser(staged, 'erased-later@a.example')).toBe(false);
    expect((await registry.find(A, row.restoreId))!.rows!.users).toBe(staged.users.length);

    await promoteStaging(env.restoreDeps, env.map, { restoreId: row.restoreId, tenantId: A, requestId: randomUUID(), by: 'x' });
    const live = await env.contents(A);
    expect(hasUser(live, 'erased-later@a.example')).toBe(false);
    expect(hasUser(live, 'kept@a.example')).toBe(true);
  }, 60_000);

  it('a subject tombstoned after the restore staged is erased by the swap itself, under the lock', async () => {
    await newUser(A, 'late@a.example');
    const at = await env.instant(A);
    const result = await stage(A, at.lsn);
    expect(hasUser(await env.contents(A, result.schema), 'late@a.example')).toBe(true);
    // The tombstone lands after the restore's own erase steps and no erasure has reached the schema yet.
    await tombstone(A, 'late@a.example');
    await swapInPlace(env.restoreDeps, env.map, result.schema, A);
    expect(hasUser(await env.contents(A), 'late@a.example')).toBe(false);
  }, 60_000);

  it("an erasure's purge waits for a swap of its tenant in flight, and only for its own tenant", async () => {
    const swap = new Client({ connectionString: env.app.adminUrl });
    await swap.connect();
    try {
      await swap.query('BEGIN');
      await swap.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`compliance-ops restore swap ${A}`]);
      let waited = false;
      const purge = waitForSwaps(env.appPool, A).then(() => { waited = true; });
      await waitForSwaps(env.appPool, B);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(waited).toBe(false);
      await swap.query('COMMIT');
      await purge;
      expect(waited).toBe(true);
    } finally {
      await swap.end();
    }
  });

  it('a tenant erasure drops every staging schema of the tenant, and the swap refuses the tenant', async () => {
    const result = await stage(B, (await env.instant(B)).lsn);
    await tombstone(B, null);
    const swap = await swapInPlace(env.restoreDeps, env.map, result.schema, B).catch((e: unknown) => e);
    expect((swap as DomainError).code).toBe('tenant_erased');
    const erased = await eraseInStagings(env.restoreDeps, env.map, { tenantId: B, wholeTenant: true });
    expect(erased.dropped).toBeGreaterThanOrEqual(1);
    expect(await schemaExists(result.schema)).toBe(false);
    expect(await registry.list(B, { live: true })).toEqual([]);
  }, 60_000);
});
