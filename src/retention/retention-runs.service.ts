import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Client as TemporalClient } from '@temporalio/client';
import type { Principal } from '../auth/principal';
import { Config } from '../config';
import { CatalogDatabase } from '../db/databases';
import { sqlQuery } from '../db/sql-files';
import { RequestView } from '../requests/request.types';
import { Requests } from '../requests/requests.controller';
import { RetentionRunInput, workflowIds } from '../../workflows/messages';
import { RetentionPolicy } from './retention.types';
import { FireOutcome, startWindowRun, startWorkflowOnce, WindowRunDependencies } from './window-run';

/** Namespace of scheduled runs' request ids (UUIDv5 of the workflow id): every replica names a window's run alike. */
const RUN_ID_NAMESPACE = 'bbc0bf71-73b4-4a53-a0ec-1567aadef786';
/** Who receipts of scheduled runs say asked for them. */
export const SCHEDULER = { role: 'scheduler', subject: 'compliance-ops:retention-scheduler' } as const;

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

  /** The run of one window, exactly once whoever calls (see startWindowRun). */
  async startWindow(policy: RetentionPolicy, windowStart: Date): Promise<Firing> {
    const window = windowStart.toISOString();
    const workflowId = workflowIds.retention(policy.name, window);
    const { requestId, outcome } = await startWindowRun<RetentionRunInput>(this.windowRunDeps(), {
      kind: 'retention', workflowType: 'retentionWorkflow', workflowId, idNamespace: RUN_ID_NAMESPACE, requestedBy: SCHEDULER.subject,
      params: { policy: policy.name, trigger: 'schedule', window, dryRun: false },
      input: (id, requestedAt) => ({
        requestId: id, policy, asOf: window, dryRun: false, trigger: 'schedule', requestedBy: { ...SCHEDULER }, requestedAt,
      }),
    });
    return { policy: policy.name, window, workflowId, requestId, outcome };
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
      const input: RetentionRunInput = {
        requestId: id, policy, asOf: request.createdAt, dryRun: options.dryRun, trigger: 'manual',
        requestedBy: { role: options.principal.role, subject: options.principal.subject }, requestedAt: request.createdAt,
      };
      await startWorkflowOnce(this.windowRunDeps(), 'retentionWorkflow', workflowId, id, input);
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

  private windowRunDeps(): WindowRunDependencies {
    return { config: this.config, requests: this.requests, temporal: this.temporal };
  }
}

type RunRow = {
  id: string; tenant_id: string | null; status: RequestView['status']; progress: RequestView['progress']; result: RequestView['result'];
  error: RequestView['error']; receipt_id: string | null; created_at: Date; updated_at: Date;
};
