import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Client as TemporalClient, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Principal } from '../auth/principal';
import { Config } from '../config';
import { CatalogDatabase } from '../db/databases';
import { sqlQuery } from '../db/sql-files';
import { sqlState, SQLSTATE } from '../db/sqlstate';
import { uuidV5 } from '../demo/tenant-plan';
import { FINAL_STATUSES, RequestView } from '../requests/request.types';
import { Requests } from '../requests/requests.controller';
import { RetentionRunInput, workflowIds } from '../../workflows/messages';
import { RetentionPolicy } from './retention.types';

/** Namespace of scheduled runs' request ids (UUIDv5 of the workflow id): every replica names a window's run alike. */
const RUN_ID_NAMESPACE = 'bbc0bf71-73b4-4a53-a0ec-1567aadef786';
/** Who receipts of scheduled runs say asked for them. */
export const SCHEDULER = { role: 'scheduler', subject: 'compliance-ops:retention-scheduler' } as const;

/**
 * started: this call started the window's run; already_started: another replica
 * (or an earlier call) did; already_finished: the catalog says it ran;
 * id_taken: the Temporal namespace holds a workflow with this id that is not
 * this catalog's (another deployment shares the namespace) — the request is failed, saying so.
 */
export type FireOutcome = 'started' | 'already_started' | 'already_finished' | 'id_taken';

export interface Firing {
  policy: string;
  window: string;
  workflowId: string;
  requestId: string;
  outcome: FireOutcome;
}

/** Starts retention runs (scheduled or by hand) and lists them. */
@Injectable()
export class RetentionRuns {
  constructor(
    private readonly config: Config,
    private readonly requests: Requests,
    private readonly temporal: TemporalClient,
    private readonly catalog: CatalogDatabase,
  ) {}

  /**
   * The run of one window, exactly once whoever calls: the request id derives
   * from the workflow id, so replicas racing here insert one request row
   * between them, and Temporal refuses a second workflow with the same id. A
   * window whose run already finished (even long ago, after Temporal forgot
   * the workflow) is not run again.
   */
  async startWindow(policy: RetentionPolicy, windowStart: Date): Promise<Firing> {
    const window = windowStart.toISOString();
    const workflowId = workflowIds.retention(policy.name, window);
    const requestId = uuidV5(RUN_ID_NAMESPACE, workflowId);
    const firing = { policy: policy.name, window, workflowId, requestId };
    const request = (await this.requests.get(requestId)) ?? (await this.createWindowRequest(requestId, workflowId, policy.name, window));
    if (FINAL_STATUSES.has(request.status)) return { ...firing, outcome: 'already_finished' };
    const started = await this.start(workflowId, {
      requestId, policy, asOf: window, dryRun: false, trigger: 'schedule', requestedBy: { ...SCHEDULER }, requestedAt: request.createdAt,
    });
    if (started) return { ...firing, outcome: 'started' };
    const owner = (await this.temporal.workflow.getHandle(workflowId).describe()).memo?.requestId;
    if (owner === requestId) return { ...firing, outcome: 'already_started' };
    await this.requests.transition(requestId, 'failed', 'retention-scheduler', { error: {
      code: 'workflow_id_taken',
      message: `Temporal namespace ${this.config.TEMPORAL_NAMESPACE} already has a workflow ${workflowId} of another deployment; give each deployment its own namespace`,
    } });
    return { ...firing, outcome: 'id_taken' };
  }

  /** A run started by hand, measured from now; a dry run counts and changes nothing. */
  async startNow(policy: RetentionPolicy, options: { dryRun: boolean; principal: Principal; idempotencyKey?: string; from?: string }): Promise<RequestView> {
    const id = randomUUID();
    const workflowId = workflowIds.retention(policy.name, `${options.dryRun ? 'dry-run' : 'manual'}-${id}`);
    const { request, created } = await this.requests.create({
      id, kind: 'retention', tenantId: null, workflowId, requestedBy: options.principal.subject,
      params: { policy: policy.name, trigger: 'manual', dryRun: options.dryRun },
      idempotencyKey: options.idempotencyKey,
      bodySha256: createHash('sha256').update(JSON.stringify({ policy: policy.name, dryRun: options.dryRun })).digest('hex'),
    }, options.from);
    if (created) {
      await this.start(workflowId, {
        requestId: id, policy, asOf: request.createdAt, dryRun: options.dryRun, trigger: 'manual',
        requestedBy: { role: options.principal.role, subject: options.principal.subject }, requestedAt: request.createdAt,
      });
    }
    return request;
  }

  async list(filter: { policy?: string; tenantId?: string; after?: string; limit: number }): Promise<RequestView[]> {
    const { rows } = await this.catalog.pool.query<RunRow>(sqlQuery('retention', 'runs-list.sql'),
      [filter.policy ?? null, filter.tenantId ?? null, filter.after ?? null, filter.limit]);
    return rows.map((r) => ({
      id: r.id, kind: 'retention', tenantId: r.tenant_id, status: r.status, progress: r.progress, result: r.result, error: r.error,
      receiptId: r.receipt_id, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
    }));
  }

  private async createWindowRequest(id: string, workflowId: string, policy: string, window: string): Promise<RequestView> {
    try {
      const { request } = await this.requests.create({
        id, kind: 'retention', tenantId: null, workflowId, requestedBy: SCHEDULER.subject, params: { policy, trigger: 'schedule', window, dryRun: false },
      });
      return request;
    } catch (error) {
      // Another replica inserted it first: its row is ours too.
      const existing = sqlState(error) === SQLSTATE.uniqueViolation ? await this.requests.get(id) : undefined;
      if (existing) return existing;
      throw error;
    }
  }

  /** False when a workflow with this id already ran or runs: "already started" means "already running". */
  private async start(workflowId: string, input: RetentionRunInput): Promise<boolean> {
    try {
      await this.temporal.workflow.start('retentionWorkflow', {
        workflowId, taskQueue: this.config.TEMPORAL_TASK_QUEUE, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // Whose run this is: a replica finding the id taken checks it is its own catalog's.
        memo: { requestId: input.requestId },
      });
      return true;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw error;
    }
  }
}

type RunRow = {
  id: string; tenant_id: string | null; status: RequestView['status']; progress: RequestView['progress']; result: RequestView['result'];
  error: RequestView['error']; receipt_id: string | null; created_at: Date; updated_at: Date;
};
