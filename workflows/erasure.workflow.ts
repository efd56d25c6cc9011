import { ApplicationFailure, condition, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ClosingActivities } from '../src/erasure/closing.activities';
import type { ErasureActivities } from '../src/erasure/erasure.activities';
import type { PurgeTarget } from '../src/erasure/erasure.types';
import { cancelErasureSignal, ErasureOutcome, ErasureWorkflowInput, legalHoldLiftedSignal, NON_RETRYABLE, RequestStatus } from './messages';
import { markRequest, recordFailure } from './request-outcome';

const short = proxyActivities<ErasureActivities & ClosingActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The purge heartbeats a cursor after every batch; a retry resumes there. */
const { purge } = proxyActivities<ErasureActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE, 'legal_hold'] },
});

/** How often a blocked erasure looks at the legal hold again, should the lift signal be missed. */
const HOLD_RECHECK = '5 minutes';

const isoNow = () => new Date(Date.now()).toISOString();

/**
 * Erasure of a tenant or of one subject: grace (cancellable) → legal hold
 * check (blocks, then resumes) → tombstone → count → purge in batches →
 * verify → shred exports (and, for a tenant, its hash key and restore archive) → signed receipt.
 */
export async function erasureWorkflow(input: ErasureWorkflowInput): Promise<ErasureOutcome> {
  let stage: RequestStatus = 'queued';
  let cancelRequested = false;
  let holdLifted = false;
  setHandler(cancelErasureSignal, () => {
    if (stage === 'queued' || stage === 'waiting_grace' || stage === 'blocked_legal_hold') cancelRequested = true;
  });
  setHandler(legalHoldLiftedSignal, () => {
    holdLifted = true;
  });
  const enter = async (status: RequestStatus, progress?: Record<string, unknown>) => {
    stage = status;
    await markRequest(input.requestId, status, progress ? { progress } : {});
  };
  const cancelled = async (): Promise<ErasureOutcome> => {
    await enter('cancelled', { stage: 'cancelled', cancelledAt: isoNow() });
    return { status: 'cancelled' };
  };

  try {
    if (input.graceSeconds > 0) {
      await enter('waiting_grace', { stage: 'grace', graceEndsAt: new Date(Date.now() + input.graceSeconds * 1000).toISOString() });
      if (await condition(() => cancelRequested, input.graceSeconds * 1000)) return await cancelled();
    }

    const legalHolds: Array<{ reason: string; placedAt: string; liftedAt?: string }> = [];
    for (;;) {
      const eligibility = await short.checkEligibility({ tenantId: input.tenantId, subject: input.subject });
      if (eligibility.eligible) break;
      const hold = eligibility.legalHold!;
      if (!legalHolds.some((h) => h.placedAt === hold.placedAt)) legalHolds.push({ reason: hold.reason, placedAt: hold.placedAt });
      await enter('blocked_legal_hold', { stage: 'blocked_legal_hold', legalHold: { reason: hold.reason, placedAt: hold.placedAt } });
      holdLifted = false;
      await condition(() => holdLifted || cancelRequested, HOLD_RECHECK);
      if (cancelRequested) return await cancelled();
    }
    for (const hold of legalHolds) hold.liftedAt ??= isoNow();

    await enter('running', { stage: 'purging' });
    const startedAt = isoNow();
    const target: PurgeTarget = input.subject
      ? { kind: 'subject', tenantId: input.tenantId, subject: input.subject }
      : { kind: 'tenant', tenantId: input.tenantId };
    const tombstone = await short.recordTombstone({ requestId: input.requestId, tenantId: input.tenantId, subject: input.subject });
    await short.countScope({ requestId: input.requestId, target });
    const purged = await purge({ requestId: input.requestId, target });
    await markRequest(input.requestId, 'running', { progress: { stage: 'verifying' } });
    const verification = await short.verifyScope({ requestId: input.requestId, target });
    if (!verification.verified) {
      throw ApplicationFailure.nonRetryable('rows are left in scope after the purge', 'verification_failed');
    }
    await markRequest(input.requestId, 'running', { progress: { stage: 'shredding' } });
    const shred = await short.shredExports({ tenantId: purged.tenantId });
    if (!input.subject) await short.shredHashKey({ tenantId: purged.tenantId });
    // Erasures that started before this step existed replay without it.
    const archive = patched('shred-restore-archive')
      ? await short.shredRestoreArchive({ tenantId: purged.tenantId, wholeTenant: !input.subject })
      : undefined;

    const receipt = await short.issueReceipt({
      facts: {
        requestId: input.requestId, kind: 'erasure', tenantId: purged.tenantId,
        subjectHash: tombstone.subjectHash ?? undefined, reason: input.reason, graceSeconds: input.graceSeconds,
        requestedBy: input.requestedBy, requestedAt: input.requestedAt, startedAt, completedAt: isoNow(),
        workflowId: workflowInfo().workflowId, legalHolds, exportsShredded: shred.objects, archiveRemains: archive?.remains,
      },
      purge: purged,
      verification,
    });
    const rows = purged.tables.reduce((sum, t) => sum + t.rows, 0);
    await markRequest(input.requestId, 'succeeded', {
      receiptId: receipt.receiptId,
      progress: { stage: 'receipted', percent: 100 },
      result: { rows, tables: purged.tables.map((t) => ({ table: t.table.name, action: t.action, rows: t.rows })), exportsShredded: shred.objects, ...(archive?.shredded ? { archiveShredded: archive.shredded } : {}), logIndex: receipt.logIndex },
    });
    return { status: 'succeeded', receiptId: receipt.receiptId };
  } catch (error) {
    await recordFailure(input.requestId, error);
    throw error;
  }
}
