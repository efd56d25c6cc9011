import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ErasureActivities, PurgeResult } from '../src/erasure/erasure.activities';
import type { PurgeTarget } from '../src/erasure/erasure.types';
import type { RetentionActivities } from '../src/retention/retention.activities';
import type { TenantOutcome } from '../src/retention/retention.types';
import { NON_RETRYABLE, RetentionTenantInput } from './messages';

const short = proxyActivities<ErasureActivities & RetentionActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The purge heartbeats a cursor after every batch; a retry resumes there. */
const { purgeRetention } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE, 'legal_hold'] },
});

const isoNow = () => new Date(Date.now()).toISOString();

const isLegalHold = (error: unknown) =>
  error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === 'legal_hold';

/**
 * One tenant of a retention run: legal hold check → (dry run: count and stop)
 * → count → purge in batches → verify → signed receipt. A tenant under a legal
 * hold, before or during the purge, is skipped with the reason and gets no receipt.
 */
export async function retentionTenantWorkflow(input: RetentionTenantInput): Promise<TenantOutcome> {
  const { tenant, policy } = input;
  const eligibility = await short.checkEligibility({ tenantId: tenant.tenantId });
  if (!eligibility.eligible) {
    return { ...tenant, status: 'skipped', reason: 'legal_hold', detail: eligibility.legalHold?.reason };
  }
  const target: PurgeTarget = { kind: 'retention', tenantId: tenant.tenantId, table: policy.table, ageColumn: policy.ageColumn, cutoff: tenant.cutoff, action: policy.action };
  if (input.dryRun) {
    const count = await short.countExpired({ tenantId: tenant.tenantId, table: policy.table, ageColumn: policy.ageColumn, cutoff: tenant.cutoff, action: policy.action });
    return { ...tenant, status: 'counted', rows: count.pendingRows, retainedRows: count.retainedRows };
  }

  const startedAt = isoNow();
  await short.countScope({ requestId: input.requestId, target });
  let purged: PurgeResult;
  try {
    purged = await purgeRetention({ requestId: input.requestId, target, batch: policy.batch });
  } catch (error) {
    // A hold placed while the run was under way: the purge stopped before the table, nothing went.
    if (isLegalHold(error)) return { ...tenant, status: 'skipped', reason: 'legal_hold', detail: (error as ActivityFailure).cause?.message };
    throw error;
  }
  const verification = await short.verifyScope({ requestId: input.requestId, target });
  if (!verification.verified) throw ApplicationFailure.nonRetryable('rows past the cutoff are left after the purge', 'verification_failed');

  const receipt = await short.issueRetentionReceipt({
    facts: {
      requestId: input.requestId, kind: 'retention', tenantId: purged.tenantId, retentionPolicy: policy.name,
      reason: `retention policy ${policy.name}: rows of ${policy.table} with ${policy.ageColumn} before ${tenant.cutoff} (older than ${tenant.maxAgeDays} days)`,
      requestedBy: input.requestedBy, requestedAt: input.requestedAt, startedAt, completedAt: isoNow(),
      workflowId: workflowInfo().workflowId, legalHolds: [], exportsShredded: 0,
    },
    purge: purged,
    verification,
    action: policy.action,
  });
  const table = purged.tables[0];
  return { ...tenant, status: 'purged', rows: table?.rows ?? 0, retainedRows: table?.retainedRows ?? 0, receiptId: receipt.receiptId, logIndex: receipt.logIndex };
}
