import { defineSignal } from '@temporalio/workflow';
import type { RetentionPolicy, TenantCutoff } from '../src/retention/retention.types';

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

/** One retention run of one policy; see src/retention/retention.types.ts for the words. */
export interface RetentionRunInput {
  requestId: string;
  /** the policy as validated when the run started: a run never rereads the config */
  policy: RetentionPolicy;
  /** ages are measured from here: the window start of a scheduled run, the request time of one started by hand */
  asOf: string;
  dryRun: boolean;
  trigger: 'schedule' | 'manual';
  requestedBy: { role: string; subject: string };
  requestedAt: string;
}

/** One tenant of a retention run: a child workflow of the run. */
export interface RetentionTenantInput {
  requestId: string;
  policy: Pick<RetentionPolicy, 'name' | 'table' | 'ageColumn' | 'action' | 'batch'>;
  tenant: TenantCutoff;
  dryRun: boolean;
  requestedBy: { role: string; subject: string };
  requestedAt: string;
}

export interface RestoreWorkflowInput {
  requestId: string;
  tenantId: string;
  target: { time: string } | { lsn: string };
  mode: 'staging' | 'in-place';
}

/** Promote a staging restore: swap the staged tenant in. `restoreId` is the staging restore's request id. */
export interface PromoteWorkflowInput {
  requestId: string;
  tenantId: string;
  restoreId: string;
  /** the principal who asked, recorded on the staging schema's end */
  requestedBy: string;
}

export interface SnapshotWorkflowInput {
  requestId: string;
  tenantId: string;
}

/** One window of the snapshot schedule (SNAPSHOT_SCHEDULE): every live tenant snapshotted, then the archive pruned to PITR_WINDOW. */
export interface SnapshotScheduleInput {
  requestId: string;
  /** the window start (ISO 8601): the tick that fired it */
  window: string;
  requestedAt: string;
}

/** The supervised WAL archiver: how often it drains once caught up. */
export interface WalArchiverInput {
  intervalSeconds: number;
}

/** Workflow ids are business keys: one workflow per request. */
export const workflowIds = {
  export: (tenantId: string, requestId: string) => `export:${tenantId}:${requestId}`,
  erasure: (tenantId: string, requestId: string) => `erasure:${tenantId}:${requestId}`,
  restore: (tenantId: string, requestId: string) => `restore:${tenantId}:${requestId}`,
  snapshot: (tenantId: string, requestId: string) => `snapshot:${tenantId}:${requestId}`,
  /** one run per application database (its name) and window start (ISO 8601) of the snapshot schedule */
  snapshotSchedule: (database: string, window: string) => `snapshots:${database}:${window}`,
  /**
   * One archiver per application database (its slot) and deployment (its task
   * queue): a workflow left running by a stopped deployment, or a fenced test,
   * never keeps another's archiver from starting.
   */
  walArchiver: (taskQueue: string, slot: string) => `wal-archiver:${taskQueue}:${slot}`,
  /** `window`: the window start (ISO 8601) of a scheduled run, `manual-<request>` or `dry-run-<request>` otherwise */
  retention: (policy: string, window: string) => `retention:${policy}:${window}`,
  retentionTenant: (runWorkflowId: string, tenantId: string) => `${runWorkflowId}:tenant:${tenantId}`,
};

/** Failure types that no retry can cure (bad input, unknown tenant…). */
export const NON_RETRYABLE = ['bad_input', 'not_found', 'conflict', 'forbidden'];
