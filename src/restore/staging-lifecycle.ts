import { Pool, escapeIdentifier as q } from 'pg';
import { DataMap } from '../datamap/datamap.types';
import { conflict, notFound } from '../errors';
import { logger } from '../logger';
import type { ReceiptContent } from '../receipts/receipt.types';
import { checkStaging } from './checks';
import { eraseTombstonedSubjects, ReeraseDependencies } from './reerase';
import { dropStaging } from './run-restore';
import { restoredTables, stagedTable } from './staging';
import { StagingRegistry, StagingView } from './staging-registry';
import { swapInPlace, SwapResult } from './swap';
import { refuseErasedTenant } from './swap-guard';

/**
 * What happens to a staging restore's schema after the restore: promoted
 * (swapped in, later, after inspection), dropped on request or on expiry,
 * erased in by a subject erasure, dropped by a tenant erasure.
 */

export type StagingDependencies = ReeraseDependencies;

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type PromoteResult = {
  restoreId: string;
  tenantId: string;
  schema: string;
  /** subjects erased after the restore staged, erased again in staging before the swap */
  erasedSubjects: number;
  rows: Record<string, number>;
  swap: SwapResult;
  seconds: number;
};

/** A staging restore of this tenant, or 404: another tenant's restore id is as unknown as a made-up one. */
async function stagingOf(registry: StagingRegistry, tenantId: string, restoreId: string) {
  const staging = await registry.find(tenantId, restoreId);
  if (!staging) throw notFound('restore_not_found', `Tenant ${tenantId} has no restore ${restoreId}.`);
  return staging;
}

/**
 * Swaps a staged restore in: the tenant's live rows become the staged ones,
 * as an in-place restore would have done when it finished. The schema must
 * still hold what the restore staged (row counts per table, as recorded;
 * a schema hand-edited or half-dropped since is refused); subjects erased
 * since are erased in it again; the checks run again; then the guarded swap
 * (swap-guard.ts), and the schema is dropped. A retry of the same request
 * after the swap committed answers with what is recorded.
 */
export async function promoteStaging(
  deps: StagingDependencies, map: DataMap, input: { restoreId: string; tenantId: string; requestId: string; by: string },
): Promise<PromoteResult> {
  const started = performance.now();
  const registry = new StagingRegistry(deps.catalogPool);
  const staging = await stagingOf(registry, input.tenantId, input.restoreId);
  const done = (erasedSubjects: number, rows: Record<string, number>, swap: SwapResult): PromoteResult => ({
    restoreId: input.restoreId, tenantId: input.tenantId, schema: staging.schema, erasedSubjects, rows, swap,
    seconds: Math.round(performance.now() - started) / 1000,
  });
  if (staging.state === 'promoted' && staging.result?.endedByRequest === input.requestId) {
    return done(0, staging.rows ?? {}, { by: 'difference', rows: {} });
  }
  if (staging.state === 'promoted' || staging.state === 'dropped') {
    throw conflict(`restore_${staging.state}`, `Restore ${input.restoreId} was already ${staging.state} (${staging.endedAt}, by ${staging.endedBy}); its staging schema is gone.`);
  }
  if (staging.state !== 'staged' || !staging.result) {
    throw conflict('restore_not_staged', `Restore ${input.restoreId} has not staged (it is still running, or it failed); only a restore that finished in staging mode can be promoted.`);
  }
  await refuseErasedTenant(deps.catalogPool, input.tenantId);
  await assertHoldsStaged(deps.appPool, map, staging.schema, staging.result.rows);

  const erasedSubjects = await eraseTombstonedSubjects(deps, map, staging.schema, input.tenantId);
  const rows = await checkStaging(deps.appPool, map, staging.schema, input.tenantId);
  const swap = await swapInPlace(deps, map, staging.schema, input.tenantId);
  await registry.ended(input.restoreId, 'promoted', input.by, input.requestId);
  await dropStaging(deps.appPool, staging.schema);
  return done(erasedSubjects, rows, swap);
}

/** The staged rows per table, as the restore recorded them: nothing lost (a table dropped, rows deleted) or added by hand since. */
async function assertHoldsStaged(appPool: Pool, map: DataMap, schema: string, recorded: Record<string, number>): Promise<void> {
  const problems: string[] = [];
  for (const t of restoredTables(map)) {
    const { rows } = await appPool.query<{ n: string }>(`SELECT count(*) AS n FROM ${stagedTable(schema, t)}`).catch(() => ({ rows: [{ n: 'missing' }] }));
    if (rows[0].n !== String(recorded[t.name])) problems.push(`${t.name}: ${rows[0].n} rows, the restore staged ${recorded[t.name] ?? 'none'}`);
  }
  if (problems.length) {
    throw conflict('restore_staging_changed', `The staging schema ${schema} no longer holds what the restore staged (${problems.join('; ')}); run the restore again rather than promote it.`);
  }
}

/**
 * Drops a staging restore's schema on request. A restore still running owns
 * its schema (`loading` while its request runs): 409. Idempotent for a
 * schema already dropped.
 */
export async function dropStagingRestore(
  deps: { appPool: Pool; catalogPool: Pool }, input: { restoreId: string; tenantId: string; by: string },
): Promise<StagingView> {
  const registry = new StagingRegistry(deps.catalogPool);
  const staging = await stagingOf(registry, input.tenantId, input.restoreId);
  if (staging.state === 'promoted' || staging.state === 'dropped') return staging;
  if (await restoreRunning(deps.catalogPool, input.restoreId)) {
    throw conflict('restore_running', `Restore ${input.restoreId} is still running; cancel it or wait for it before dropping its schema.`);
  }
  await dropStaging(deps.appPool, staging.schema);
  await registry.ended(input.restoreId, 'dropped', input.by);
  return (await registry.find(input.tenantId, input.restoreId))!;
}

async function restoreRunning(catalogPool: Pool, restoreId: string): Promise<boolean> {
  const { rows } = await catalogPool.query<{ status: string }>(`SELECT status FROM requests WHERE id = $1`, [restoreId]);
  return rows[0] !== undefined && (rows[0].status === 'queued' || rows[0].status === 'running');
}

/** Drops every staging schema past RESTORE_STAGING_TTL whose restore is not running. Returns the restores whose schema went. */
export async function expireStagings(deps: { appPool: Pool; catalogPool: Pool }, now: Date): Promise<string[]> {
  const registry = new StagingRegistry(deps.catalogPool);
  const dropped: string[] = [];
  for (const staging of await registry.expired(now)) {
    if (await restoreRunning(deps.catalogPool, staging.restoreId)) continue;
    await dropStaging(deps.appPool, staging.schema);
    await registry.ended(staging.restoreId, 'dropped', 'expiry');
    dropped.push(staging.restoreId);
  }
  if (dropped.length) logger.info({ restores: dropped }, 'restore staging schemas expired and dropped');
  return dropped;
}

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type StagingErasureResult = { schemas: number; subjectsErased: number; dropped: number };

/**
 * An erasure's reach into staging restores of its tenant. A tenant erasure
 * drops them all. A subject erasure erases the subject (by its tombstone,
 * recorded before) in every staged schema and records the new row counts, so
 * a later promote still matches; a schema still loading is its restore's to
 * handle (run-restore erases once more after it stages).
 */
export async function eraseInStagings(deps: StagingDependencies, map: DataMap, input: { tenantId: string; wholeTenant: boolean }): Promise<StagingErasureResult> {
  const registry = new StagingRegistry(deps.catalogPool);
  const live = await registry.list(input.tenantId, { live: true, limit: 10_000 });
  if (input.wholeTenant) {
    for (const staging of live) {
      await deps.appPool.query(`DROP SCHEMA IF EXISTS ${q(staging.schema)} CASCADE`);
      await registry.ended(staging.restoreId, 'dropped', 'tenant erasure');
    }
    return { schemas: live.length, subjectsErased: 0, dropped: live.length };
  }
  let subjectsErased = 0;
  const staged = live.filter((s) => s.state === 'staged');
  for (const staging of staged) {
    const erased = await eraseTombstonedSubjects(deps, map, staging.schema, input.tenantId);
    if (erased > 0) await registry.recount(staging.restoreId, await checkStaging(deps.appPool, map, staging.schema, input.tenantId));
    subjectsErased += erased;
  }
  return { schemas: staged.length, subjectsErased, dropped: 0 };
}

/** What an erasure's receipt says about staging restores: the schemas dropped (tenant) or erased in (subject), now. */
export function stagingRemains(result: StagingErasureResult, wholeTenant: boolean): ReceiptContent['remains'][number] {
  return {
    what: 'restore-staging', status: 'shredded', until: null, objects: result.schemas,
    reason: wholeTenant
      ? 'every staging schema of a restore of the tenant was dropped'
      : 'the subject was erased again in every staged restore of the tenant; a restore still loading erases it itself before it stages',
  };
}
