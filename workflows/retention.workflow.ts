import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, executeChild, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RetentionActivities } from '../src/retention/retention.activities';
import type { RetentionRunResult, TenantCutoff, TenantOutcome } from '../src/retention/retention.types';
import { NON_RETRYABLE, RetentionRunInput, workflowIds } from './messages';
import { FailureDescription, finishTenantRun, markRequest, recordFailure } from './request-outcome';
import { retentionTenantWorkflow } from './retention-tenant.workflow';

const { listRetentionTenants } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** At most this many progress writes per run, however many tenants: each one is an activity in the history. */
const PROGRESS_UPDATES = 50;

/** Looks through activity and child workflow failures, down to what failed first. */
function describe(error: unknown): FailureDescription {
  let cause = error;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'failed', message: cause.message };
  return { code: 'failed', message: cause instanceof Error ? cause.message : String(cause) };
}

/**
 * One retention run of one policy: list the tenants it covers, then one
 * child workflow per tenant, `concurrency` at a time, each purging (or, in a
 * dry run, counting) that tenant's expired rows and issuing its receipt. The
 * run is one request; its progress counts tenants, its result lists each
 * tenant's outcome. A failed tenant does not stop the others; it fails the run.
 */
export async function retentionWorkflow(input: RetentionRunInput): Promise<RetentionRunResult> {
  const { policy } = input;
  try {
    await markRequest(input.requestId, 'running', { progress: { stage: 'listing tenants', tenantsDone: 0, percent: 0 } });
    const { tenants, missing } = await listRetentionTenants({ policy, asOf: input.asOf });
    const outcomes: TenantOutcome[] = [];
    const every = Math.max(1, Math.ceil(tenants.length / PROGRESS_UPDATES));
    let next = 0;
    const lane = async () => {
      while (next < tenants.length) {
        const tenant = tenants[next++];
        outcomes.push(await runTenant(input, tenant));
        const done = outcomes.length;
        if (done % every === 0 && done < tenants.length) {
          await markRequest(input.requestId, 'running', {
            progress: { stage: input.dryRun ? 'counting' : 'purging', tenantsDone: done, tenantsTotal: tenants.length, percent: Math.floor((100 * done) / tenants.length) },
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(policy.concurrency, tenants.length) }, lane));

    const order = new Map(tenants.map((t, i) => [t.tenantId, i]));
    outcomes.sort((a, b) => order.get(a.tenantId)! - order.get(b.tenantId)!);
    const result = summarize(input, outcomes, missing);
    return await finishTenantRun(input.requestId, result, tenants.length, outcomes.filter((o) => o.status === 'failed'), 'tenant');
  } catch (error) {
    await recordFailure(input.requestId, error, describe);
    throw error;
  }
}

async function runTenant(input: RetentionRunInput, tenant: TenantCutoff): Promise<TenantOutcome> {
  const { name, table, ageColumn, action, batch } = input.policy;
  try {
    return await executeChild(retentionTenantWorkflow, {
      workflowId: workflowIds.retentionTenant(workflowInfo().workflowId, tenant.tenantId),
      args: [{ requestId: input.requestId, policy: { name, table, ageColumn, action, batch }, tenant, dryRun: input.dryRun, requestedBy: input.requestedBy, requestedAt: input.requestedAt }],
    });
  } catch (error) {
    if (isCancellation(error)) throw error;
    const { code, message } = describe(error);
    return { ...tenant, status: 'failed', reason: code, detail: message };
  }
}

function summarize(input: RetentionRunInput, outcomes: TenantOutcome[], missing: string[]): RetentionRunResult {
  return {
    policy: input.policy.name,
    table: input.policy.table,
    asOf: input.asOf,
    dryRun: input.dryRun,
    tenantsTotal: outcomes.length,
    rows: outcomes.reduce((sum, o) => sum + (o.rows ?? 0), 0),
    tenants: outcomes,
    skipped: [
      ...outcomes.filter((o) => o.status === 'skipped').map((o) => ({ tenantId: o.tenantId, reason: o.reason ?? 'skipped', ...(o.detail ? { detail: o.detail } : {}) })),
      ...missing.map((tenantId) => ({ tenantId, reason: 'tenant_not_found', detail: 'the policy names it; the tenants table does not have it' })),
    ],
    receiptIds: outcomes.flatMap((o) => (o.receiptId ? [o.receiptId] : [])),
  };
}
