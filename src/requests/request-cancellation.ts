import { Injectable } from '@nestjs/common';
import { Client as TemporalClient, WorkflowNotFoundError } from '@temporalio/client';
import { conflict, notFound } from '../errors';
import type { Principal } from '../auth/principal';
import { cancelErasureSignal } from '../../workflows/messages';
import { Requests } from './requests.provider';
import { FINAL_STATUSES, RequestView } from './request.types';

/** An erasure can be called off only while it waits; from the purge on, it runs to its receipt. */
const ERASURE_CANCELLABLE = new Set(['queued', 'waiting_grace', 'blocked_legal_hold']);

/**
 * `POST /v1/requests/{id}/cancel` for every kind. Most kinds are cancelled
 * through Temporal (`handle.cancel()`): the workflow's activities see the
 * cancellation and clean up (an export deletes what it wrote), and the
 * workflow records `cancelled`. An erasure gets its cancel *signal* instead:
 * the workflow itself decides whether it is still waiting, so a cancel that
 * races the end of the grace period can never interrupt a purge half-way.
 */
@Injectable()
export class RequestCancellation {
  constructor(private readonly requests: Requests, private readonly temporal: TemporalClient) {}

  async cancel(id: string, principal: Principal, from: string | undefined): Promise<RequestView> {
    const request = await this.requests.get(id);
    // A tenant admin cannot tell another tenant's request from a missing one.
    if (!request || (principal.role === 'tenant-admin' && request.tenantId !== principal.tenantId)) {
      throw notFound('request_not_found', `no request ${id}`);
    }
    if (request.status === 'cancelled') return request;
    if (FINAL_STATUSES.has(request.status)) throw notCancellable(request, 'it has already ended');
    if (request.kind === 'erasure' && !ERASURE_CANCELLABLE.has(request.status)) {
      throw notCancellable(request, 'an erasure can only be cancelled while it waits (grace period or legal hold)');
    }
    const workflowId = await this.requests.workflowIdOf(id);
    await this.requests.recordEvent(id, principal.subject, 'cancel_requested', { from, role: principal.role });
    const handle = this.temporal.workflow.getHandle(workflowId!);
    try {
      if (request.kind === 'erasure') await handle.signal(cancelErasureSignal);
      else await handle.cancel();
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // No workflow: the API stopped between recording the request and starting it. Nothing runs, so cancel it here.
      if (request.status === 'queued' && !(await this.workflowExists(workflowId!))) {
        await this.requests.transition(id, 'cancelled', principal.subject);
      } else {
        throw notCancellable(request, 'its workflow has already ended');
      }
    }
    return (await this.requests.get(id))!;
  }

  private async workflowExists(workflowId: string): Promise<boolean> {
    try {
      await this.temporal.workflow.getHandle(workflowId).describe();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }
}

function notCancellable(request: RequestView, why: string) {
  return conflict('not_cancellable', `the ${request.kind} is ${request.status}: ${why}`, { status: request.status });
}
