import { Pool } from 'pg';
import { DataMap, Erasure } from '../datamap/datamap.types';
import { ErasureActivityDependencies, createErasureActivities, PurgeResult, TargetInput } from '../erasure/erasure.activities';
import { BatchTuning } from '../erasure/batch-size';
import { ReceiptFacts } from '../erasure/erasure-receipt';
import { normalizeTenantId } from '../erasure/purge-session';
import { q, qualified } from '../erasure/sql-builder';
import type { Verification } from '../erasure/verify';
import type { IssuedReceipt } from '../receipts/receipt.types';
import { ReceiptsService } from '../receipts/receipts.service';
import { tenantCutoffs } from './cutoffs';
import { retentionReceiptContent } from './retention-receipt';
import { BatchLimits, RetentionPolicy, TenantCutoff, TenantFilter } from './retention.types';

export interface RetentionActivityDependencies extends ErasureActivityDependencies {
  receipts: ReceiptsService;
}

/**
 * What retention adds to the erasure activities, which its workflows call
 * directly (checkEligibility, countScope, verifyScope, countExpired): the
 * tenant list, a purge with the policy's batch limits, and its receipt.
 */
export function createRetentionActivities(deps: RetentionActivityDependencies) {
  return {
    /**
     * The tenants a policy covers, each with its cutoff, ordered by tenant id
     * so a rerun visits them in the same order; and the ids a policy names
     * that the tenants table does not have (a typo, or an erased tenant).
     */
    async listRetentionTenants(input: { policy: RetentionPolicy; asOf: string }): Promise<{ tenants: TenantCutoff[]; missing: string[] }> {
      const map = await deps.loadDataMap();
      const ids = await listTenantIds(deps.appPool, map, input.policy.tenants);
      const named = input.policy.tenants && 'ids' in input.policy.tenants ? input.policy.tenants.ids : [];
      return { tenants: tenantCutoffs(input.policy, ids, input.asOf), missing: named.filter((id) => !ids.includes(id)) };
    },

    /** The erasure purge (same batches, heartbeats, resume and legal-hold checks) under the policy's batch limits. */
    async purgeRetention(input: TargetInput & { batch: BatchLimits }): Promise<PurgeResult> {
      return createErasureActivities({ ...deps, tuning: { ...deps.tuning, ...tuningFor(input.batch) } }).purge(input);
    },

    /** Idempotent, like every receipt: a repeat for the same run and tenant returns the first. */
    async issueRetentionReceipt(input: { facts: ReceiptFacts; purge: PurgeResult; verification: Verification; action: Erasure }): Promise<IssuedReceipt> {
      const content = retentionReceiptContent(input.facts, await deps.loadDataMap(), input.purge, input.verification, input.action);
      return deps.receipts.issue(content);
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;

/** A policy's limits as erasure batch tuning: batches never larger than maxRows, and a pause between them. */
export function tuningFor(batch: BatchLimits): Partial<BatchTuning> {
  const tuning: Partial<BatchTuning> = {};
  if (batch.maxRows !== undefined) {
    tuning.maxBatchRows = batch.maxRows;
    tuning.minBatchRows = Math.min(100, batch.maxRows);
    tuning.initialBatchRows = Math.min(1_000, batch.maxRows);
  }
  if (batch.pauseMs !== undefined) tuning.pauseMs = batch.pauseMs;
  return tuning;
}

/**
 * Every tenant id the filter selects, read across tenants: the one query the
 * service runs outside a tenant fence. The application must let the service
 * role SELECT every row of the tenants table (the demo's `service_lists_tenants`
 * policy); RLS without such a policy shows no tenant, and the run purges none.
 */
export async function listTenantIds(pool: Pool, map: DataMap, filter: TenantFilter): Promise<string[]> {
  const key = q(map.tenantTable.keyColumn);
  let where = '';
  const params: unknown[] = [];
  if (filter && 'tiers' in filter) {
    where = `WHERE ${q(filter.tierColumn)}::text = ANY($1::text[])`;
    params.push(filter.tiers);
  } else if (filter) {
    where = `WHERE ${key}::text = ANY($1::text[])`;
    params.push(filter.ids);
  }
  const { rows } = await pool.query<{ id: string }>(`SELECT ${key}::text AS id FROM ${qualified(map.tenantTable)} ${where} ORDER BY ${key}`, params);
  return rows.map((r) => normalizeTenantId(map, r.id));
}
