import { PurgePlan, ScopeValues, Statement } from './erasure.types';
import { hmacPads } from './anonymize';

/** The statement's parameters in `$n` order. A missing value is a bug in the caller, not bad input. */
export function bind(statement: Statement, values: ScopeValues): unknown[] {
  return statement.params.map((name) => {
    if (values[name] === undefined) throw new Error(`purge statement needs a value for ${name}`);
    return values[name];
  });
}

export interface ValueSources {
  subjectKeys?: string | null;
  subjectValue?: string;
  cutoff?: string;
  /** the tenant's hash key, when the plan hashes values */
  hashKey?: Buffer;
}

/**
 * Everything the plan's statements may bind, except the batch size the
 * batcher adds. A census needs no hash key; a statement that does and lacks
 * it fails in bind().
 */
export function scopeValues(plan: PurgePlan, sources: ValueSources): ScopeValues {
  return {
    tenantId: plan.tenantId,
    subjectKeys: sources.subjectKeys ?? undefined,
    subjectValue: sources.subjectValue,
    cutoff: sources.cutoff,
    ...(sources.hashKey ? hmacPads(sources.hashKey) : {}),
  };
}
