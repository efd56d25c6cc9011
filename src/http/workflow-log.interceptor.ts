import type { WorkflowClientInterceptor } from '@temporalio/client';
import { annotateLog } from '../logger';

/**
 * Puts the workflow id into the current HTTP request's log context whenever
 * the API starts, signals or cancels a workflow. On the Temporal client, not
 * in each controller, so a new capability's routes log it without remembering to.
 */
export const workflowLogInterceptor: WorkflowClientInterceptor = {
  async startWithDetails(input, next) {
    annotateLog({ workflowId: input.options.workflowId });
    return next(input);
  },
  async signal(input, next) {
    annotateLog({ workflowId: input.workflowExecution.workflowId });
    return next(input);
  },
  async signalWithStart(input, next) {
    annotateLog({ workflowId: input.options.workflowId });
    return next(input);
  },
  async cancel(input, next) {
    annotateLog({ workflowId: input.workflowExecution.workflowId });
    return next(input);
  },
};
