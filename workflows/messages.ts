import { defineSignal } from '@temporalio/workflow';

/**
 * What workflows and activities say to each other. Workflows import only this
 * file, @temporalio/workflow and activity *types*: no Node built-ins, no Nest,
 * no pg (they are bundled and replayed deterministically).
 */
export type RequestStatus =
  | 'queued' | 'running' | 'waiting_grace' | 'blocked_legal_hold' | 'succeeded' | 'failed' | 'cancelled';

export interface StatusPatch {
  progress?: Record<string, unknown>;
  result?: unknown;
  error?: { code: string; message: string };
  receiptId?: string;
}

export interface ExportWorkflowInput {
  requestId: string;
  tenantId: string;
  subject?: { column: string; value: string };
  format: 'csv' | 'jsonl';
  tables?: string[];
}

export interface ErasureWorkflowInput {
  requestId: string;
  tenantId: string;
  subject?: { column: string; value: string };
  graceSeconds: number;
  reason: string;
  requestedBy: { role: string; subject: string };
  requestedAt: string;
}

export interface ErasureOutcome {
  status: 'succeeded' | 'cancelled';
  receiptId?: string;
}

/** Cancels an erasure while it waits (grace period or legal hold); ignored once purging began. */
export const cancelErasureSignal = defineSignal('cancelErasure');
/** Wakes erasures blocked by a legal hold when the hold is lifted (they also re-check on a timer). */
export const legalHoldLiftedSignal = defineSignal('legalHoldLifted');

/** Workflow ids are business keys: one workflow per request. */
export const workflowIds = {
  export: (tenantId: string, requestId: string) => `export:${tenantId}:${requestId}`,
  erasure: (tenantId: string, requestId: string) => `erasure:${tenantId}:${requestId}`,
};

/** Failure types that no retry can cure (bad input, unknown tenant…). */
export const NON_RETRYABLE = ['bad_input', 'not_found', 'conflict', 'forbidden'];
