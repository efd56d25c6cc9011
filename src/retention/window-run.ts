import { Client as TemporalClient, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Config } from '../config';
import { sqlState, SQLSTATE } from '../db/sqlstate';
import { uuidV5 } from '../demo/tenant-plan';
import { FINAL_STATUSES, RequestKind, RequestView } from '../requests/request.types';
import { RequestsRepository } from '../requests/requests.repository';

/**
 * started: this call started the window's run; already_started: another replica
 * (or an earlier call) did; already_finished: the catalog says it ran;
 * id_taken: the Temporal namespace holds a workflow with this id that is not
 * this catalog's (another deployment shares the namespace) — the request is failed, saying so.
 */
export type FireOutcome = 'started' | 'already_started' | 'already_finished' | 'id_taken';

export interface WindowRunDependencies {
  config: Config;
  requests: RequestsRepository;
  temporal: TemporalClient;
}

/** One scheduled run: a request row and the workflow carrying it out, both named after the window. */
export interface WindowRun<I> {
  kind: RequestKind;
  workflowType: string;
  /** a business key naming the window, e.g. `retention:<policy>:<window start>` */
  workflowId: string;
  /** namespace of the request id, a UUIDv5 of the workflow id: every replica names the run alike */
  idNamespace: string;
  /** the scheduler, as the request and its audit trail name it */
  requestedBy: string;
  params: Record<string, unknown>;
  input(requestId: string, requestedAt: string): I;
}

/**
 * The run of one window, exactly once whoever calls: the request id derives
 * from the workflow id, so replicas racing here insert one request row
 * between them, and Temporal refuses a second workflow with the same id. A
 * window whose run already finished (even long ago, after Temporal forgot
 * the workflow) is not run again.
 */
export async function startWindowRun<I>(deps: WindowRunDependencies, run: WindowRun<I>): Promise<{ requestId: string; outcome: FireOutcome }> {
  const requestId = uuidV5(run.idNamespace, run.workflowId);
  const request = (await deps.requests.get(requestId)) ?? (await createWindowRequest(deps.requests, requestId, run));
  if (FINAL_STATUSES.has(request.status)) return { requestId, outcome: 'already_finished' };
  if (await startWorkflowOnce(deps, run.workflowType, run.workflowId, requestId, run.input(requestId, request.createdAt))) {
    return { requestId, outcome: 'started' };
  }
  const owner = (await deps.temporal.workflow.getHandle(run.workflowId).describe()).memo?.requestId;
  if (owner === requestId) return { requestId, outcome: 'already_started' };
  await deps.requests.transition(requestId, 'failed', run.requestedBy, { error: {
    code: 'workflow_id_taken',
    message: `Temporal namespace ${deps.config.TEMPORAL_NAMESPACE} already has a workflow ${run.workflowId} of another deployment; give each deployment its own namespace`,
  } });
  return { requestId, outcome: 'id_taken' };
}

/**
 * False when a workflow with this id already ran or runs: "already started"
 * means "already running". The memo names the request, so a replica finding
 * the id taken can tell whether it is its own catalog's.
 */
export async function startWorkflowOnce(deps: WindowRunDependencies, workflowType: string, workflowId: string, requestId: string, input: unknown): Promise<boolean> {
  try {
    await deps.temporal.workflow.start(workflowType, {
      workflowId, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE', memo: { requestId },
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw error;
  }
}

async function createWindowRequest<I>(requests: RequestsRepository, id: string, run: WindowRun<I>): Promise<RequestView> {
  try {
    const { request } = await requests.create({ id, kind: run.kind, tenantId: null, workflowId: run.workflowId, requestedBy: run.requestedBy, params: run.params });
    return request;
  } catch (error) {
    // Another replica inserted it first: its row is ours too.
    const existing = sqlState(error) === SQLSTATE.uniqueViolation ? await requests.get(id) : undefined;
    if (existing) return existing;
    throw error;
  }
}
