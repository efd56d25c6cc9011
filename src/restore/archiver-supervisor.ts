import { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { Config } from '../config';
import { logger } from '../logger';
import { WalArchiverInput, workflowIds } from '../../workflows/messages';
import { archiveNamesFor } from './restore.activities';

/** The archiver workflow of this deployment's application database. */
export function walArchiverWorkflowId(config: Config): string {
  return workflowIds.walArchiver(config.TEMPORAL_TASK_QUEUE, archiveNamesFor(config.DATABASE_URL).slot);
}

/**
 * Starts the supervised archiver unless it runs already. Every worker calls
 * this at boot: the workflow id is the business key and `USE_EXISTING` makes
 * a second start (another worker, a restart, two app instances at once) a
 * no-op that returns the running one; a finished or failed one is replaced
 * (`ALLOW_DUPLICATE`). Never throws: a worker also serves exports and
 * erasures, and its next boot tries again.
 */
export async function startWalArchiver(client: Client, config: Config): Promise<string | null> {
  const workflowId = walArchiverWorkflowId(config);
  const input: WalArchiverInput = { intervalSeconds: config.WAL_ARCHIVER_INTERVAL_SECONDS };
  try {
    await client.workflow.start('walArchiverWorkflow', {
      workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    logger.info({ workflowId }, 'WAL archiver running');
    return workflowId;
  } catch (error) {
    logger.error({ workflowId, err: error }, 'could not start the WAL archiver; point-in-time restore falls behind until a worker starts it');
    return null;
  }
}
