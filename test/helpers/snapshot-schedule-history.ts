import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, PROJECT_ROOT } from '../../src/config';

export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

/** A stubbed run of the snapshot schedule: its history and which activities it called, in order. */
export interface StubbedRun {
  /** the history as protobuf bytes (temporal.api.history.v1.History), what the recorded fixtures hold */
  history: Buffer;
  workflowId: string;
  calls: string[];
}

/**
 * Runs `snapshotScheduleWorkflow` of the current workflow code on the local
 * Temporal with stub activities (two tenants, nothing pruned, nothing
 * compacted) and the default data converter, and returns its history:
 * what a replay test replays, and how its recorded fixtures were made.
 */
export async function runStubbedSnapshotSchedule(): Promise<StubbedRun> {
  const config = loadConfig();
  const taskQueue = `snapshot-schedule-replay-${randomUUID()}`;
  const calls: string[] = [];
  const stub = <T>(name: string, value: T) => async () => {
    calls.push(name);
    return value;
  };
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create({
      connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue, workflowsPath: WORKFLOWS_PATH,
      activities: {
        markRequest: async () => undefined,
        listSnapshotTenants: stub('listSnapshotTenants', { tenants: [{ tenantId: 't1', snapshotId: 's1' }, { tenantId: 't2', snapshotId: 's2' }], erased: [] }),
        takeSnapshot: stub('takeSnapshot', { id: 's', tenantId: 't', takenAt: '2026-01-01T00:00:00Z', lsn: '0/1', rows: 1 }),
        pruneArchive: stub('pruneArchive', { windowStart: '2026-01-01T00:00:00.000Z', snapshotsDeleted: 0, segmentsDeleted: 0, anchoredTenants: 0 }),
        compactArchive: stub('compactArchive', {
          tenants: 0, inputSegments: 0, mergedSegments: 0, transactions: 0, changes: 0, abandoned: 0, objectsDeleted: 0, failedTenants: [],
        }),
      },
    });
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
    const workflowId = `snapshot-schedule-replay-${randomUUID()}`;
    await worker.runUntil(client.workflow.execute('snapshotScheduleWorkflow', {
      taskQueue, workflowId, args: [{ requestId: randomUUID(), window: '2026-01-01T03:00:00.000Z', requestedAt: '2026-01-01T03:00:00.000Z' }],
    }));
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return { history: Buffer.from(temporal.api.history.v1.History.encode(history).finish()), workflowId, calls };
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}

/** A recorded history, as runReplayHistory takes it. */
export function decodeHistory(bytes: Buffer): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.decode(bytes);
}
