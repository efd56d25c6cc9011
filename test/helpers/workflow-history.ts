import { Client as TemporalClient, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { clientDataConverter } from '../../src/temporal/data-converter';

/**
 * The attempt on which an activity of a workflow started, read from the
 * workflow's history: 2 or more means the activity was retried (a crash test's
 * proof that the kill landed mid-activity).
 */
export async function activityAttempt(workflowId: string, activityType: string): Promise<number> {
  const config = loadConfig();
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new TemporalClient({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(config) });
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const scheduled = new Set(events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => Number(e.eventId)));
    const started = events.find((e) => scheduled.has(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)));
    return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
  } finally {
    await connection.close();
  }
}
