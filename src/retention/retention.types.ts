import type { Erasure } from '../datamap/datamap.types';

/**
 * Glossary of retention purges.
 * - policy: how long rows of one table may live (max age in days of an age
 *   column), for which tenants, what happens to older rows (delete, or
 *   anonymize), and when the purge runs (a cron schedule).
 * - override: a tenant whose contract says longer or shorter retention.
 * - window: the cron interval a firing belongs to, named by its start, the
 *   tick itself. One window, one run, however many replicas fire it.
 * - as-of: the instant a run measures ages from: its window start, or the
 *   request time of a run started by hand. Cutoff = as-of − max age; rows
 *   strictly older than the cutoff go.
 * - run: one request (kind `retention`, no tenant) carried out by one
 *   workflow that visits every tenant the policy covers, one child each.
 * - skipped tenant: one the run did not purge, with the reason (legal hold).
 */

/** Which tenants a policy covers; null means every tenant. */
export type TenantFilter =
  /** tenants whose tier column (tierColumn, in the tenants table) holds one of these values */
  | { tiers: string[]; tierColumn: string }
  | { ids: string[] }
  | null;

/** Limits on each batch of a purge, on top of the erasure engine's adaptive sizing. */
export interface BatchLimits {
  /** rows one batch may delete or anonymize at most */
  maxRows?: number;
  /** sleep at least this long between batches */
  pauseMs?: number;
}

export interface RetentionOverride {
  tenantId: string;
  maxAgeDays: number;
  reason?: string;
}

/** A validated policy, as the API lists it and as a run carries it (a run never rereads the config). */
export interface RetentionPolicy {
  name: string;
  /** `schema.name` */
  table: string;
  ageColumn: string;
  maxAgeDays: number;
  tenants: TenantFilter;
  action: Erasure;
  batch: BatchLimits;
  schedule: { cron: string; timeZone: string };
  /** on start, run the latest window if no run of it exists (`last`), or wait for the next firing (`none`) */
  catchUp: 'last' | 'none';
  /** tenants purged at the same time */
  concurrency: number;
  overrides: RetentionOverride[];
}

/** One tenant of a run, with the cutoff the policy (or its override) gives it. */
export interface TenantCutoff {
  tenantId: string;
  maxAgeDays: number;
  cutoff: string;
}

export type TenantOutcomeStatus = 'purged' | 'counted' | 'skipped' | 'failed';

/** What a run did to one tenant; `counted` is a dry run's answer. */
export interface TenantOutcome extends TenantCutoff {
  status: TenantOutcomeStatus;
  /** rows deleted or anonymized; for a dry run, rows that would be */
  rows?: number;
  /** rows past the cutoff kept because other rows still reference them */
  retainedRows?: number;
  receiptId?: string;
  logIndex?: number;
  /** skipped: why (`legal_hold`); failed: the error's code */
  reason?: string;
  detail?: string;
}

/** A run's result, stored on its request. */
export interface RetentionRunResult {
  policy: string;
  table: string;
  asOf: string;
  dryRun: boolean;
  tenantsTotal: number;
  /** rows deleted or anonymized in all tenants (a dry run: rows that would be) */
  rows: number;
  tenants: TenantOutcome[];
  skipped: Array<{ tenantId: string; reason: string; detail?: string }>;
  receiptIds: string[];
}
