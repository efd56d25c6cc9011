import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config';
import { decodeHistory, runStubbedSnapshotSchedule, WORKFLOWS_PATH } from '../helpers/snapshot-schedule-history';

/*
 * Workflow code must replay the histories of runs that started under older
 * code. The fixture is the history of a snapshot-schedule run recorded (with
 * runStubbedSnapshotSchedule) from the workflow as it was before WAL segment
 * compaction was added behind patched('compact-wal-segments').
 */
const RECORDED = join(PROJECT_ROOT, 'test', 'fixtures', 'histories', 'snapshot-schedule-before-compaction.history.bin');

describe('snapshot schedule workflow histories', () => {
  it('replays a run recorded before compaction existed, which never compacts', async () => {
    const history = decodeHistory(readFileSync(RECORDED));
    const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n) => n && n !== 'markRequest');
    expect(scheduled).toEqual(['listSnapshotTenants', 'takeSnapshot', 'takeSnapshot', 'pruneArchive']);
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history);
  });

  it('compacts after pruning in a new run, whose history replays too', async () => {
    const run = await runStubbedSnapshotSchedule();
    expect(run.calls).toEqual(['listSnapshotTenants', 'takeSnapshot', 'takeSnapshot', 'pruneArchive', 'compactArchive']);
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, decodeHistory(run.history), run.workflowId);
  });
});
