import { RetentionPolicy, TenantCutoff } from './retention.types';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Rows older than this go. Days are 24-hour days counted back from the
 * as-of instant, not calendar days: the cutoff is the same in every time
 * zone and across daylight saving changes.
 */
export function cutoffFor(asOf: string, maxAgeDays: number): string {
  const at = Date.parse(asOf);
  if (Number.isNaN(at)) throw new RangeError(`as-of "${asOf}" is not an ISO 8601 time`);
  return new Date(at - maxAgeDays * DAY_MS).toISOString();
}

/** Each tenant's max age (its override, else the policy's) and cutoff, in the order given. */
export function tenantCutoffs(policy: Pick<RetentionPolicy, 'maxAgeDays' | 'overrides'>, tenantIds: string[], asOf: string): TenantCutoff[] {
  const overrides = new Map(policy.overrides.map((o) => [o.tenantId, o.maxAgeDays]));
  return tenantIds.map((tenantId) => {
    const maxAgeDays = overrides.get(tenantId) ?? policy.maxAgeDays;
    return { tenantId, maxAgeDays, cutoff: cutoffFor(asOf, maxAgeDays) };
  });
}
