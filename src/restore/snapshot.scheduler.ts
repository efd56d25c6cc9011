import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Client as TemporalClient } from '@temporalio/client';
import { Config } from '../config';
import { CatalogDatabase } from '../db/databases';
import { Requests } from '../requests/requests.controller';
import { Schedule, windowStart } from '../retention/schedule-window';
import { WindowCron } from '../retention/window-cron';
import { FireOutcome, startWindowRun } from '../retention/window-run';
import { SnapshotScheduleInput, workflowIds } from '../../workflows/messages';
import { archiveNamesFor } from './restore.activities';

/** Namespace of scheduled snapshot runs' request ids (UUIDv5 of the workflow id). */
const RUN_ID_NAMESPACE = '6a0e3f27-94d1-4b8a-a5c2-1f7e9d3b8c40';
const SCHEDULER = 'compliance-ops:snapshot-scheduler';

export interface SnapshotFiring {
  window: string;
  workflowId: string;
  requestId: string | null;
  /** no_archive: skipped, the WAL archive is not set up yet (see below) */
  outcome: FireOutcome | 'no_archive';
}

/**
 * SNAPSHOT_SCHEDULE, fired in every API replica like a retention policy: a
 * firing starts the run of its window (`snapshots:<database>:<window start>`, one
 * request of kind `snapshot`), which snapshots every live tenant and then
 * prunes the archive to PITR_WINDOW. On start it catches the latest window
 * up: a deploy across the scheduled hour does not skip a day's snapshots.
 *
 * Nothing fires until the WAL archive of the application database exists:
 * a snapshot the archive does not cover is no restore point (a restore
 * needs the changes after it), only a copy of the tenant's data to keep safe.
 */
@Injectable()
export class SnapshotScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly cron: WindowCron;

  constructor(
    registry: SchedulerRegistry,
    private readonly config: Config,
    private readonly requests: Requests,
    private readonly temporal: TemporalClient,
    private readonly catalog: CatalogDatabase,
  ) {
    this.cron = new WindowCron(registry);
  }

  get schedule(): Schedule | null {
    const cron = this.config.SNAPSHOT_SCHEDULE;
    return cron === 'off' ? null : { cron, timeZone: this.config.SNAPSHOT_TIME_ZONE };
  }

  onApplicationBootstrap(): void {
    const schedule = this.schedule;
    if (schedule) this.cron.schedule('snapshots', schedule, (at) => this.fire(at), true);
  }

  async onModuleDestroy(): Promise<void> {
    await this.cron.stop();
  }

  /** Starts the run of the window `at` falls in, from any replica, any number of times; null when nothing started. */
  async fire(at: Date): Promise<SnapshotFiring | null> {
    const schedule = this.schedule;
    const start = schedule && windowStart(schedule, at);
    if (!start) return null;
    const window = start.toISOString();
    return this.cron.startWithRetry('snapshot window', { window }, () => this.startWindow(window));
  }

  private async startWindow(window: string): Promise<SnapshotFiring> {
    // The database names the deployment: two sharing a Temporal namespace do not take each other's window.
    const database = decodeURIComponent(new URL(this.config.DATABASE_URL).pathname.slice(1));
    const workflowId = workflowIds.snapshotSchedule(database, window);
    if (!(await this.archiveExists())) return { window, workflowId, requestId: null, outcome: 'no_archive' };
    const { requestId, outcome } = await startWindowRun<SnapshotScheduleInput>(
      { config: this.config, requests: this.requests, temporal: this.temporal },
      {
        kind: 'snapshot', workflowType: 'snapshotScheduleWorkflow', workflowId, idNamespace: RUN_ID_NAMESPACE, requestedBy: SCHEDULER,
        params: { trigger: 'schedule', window, pitrWindow: this.config.PITR_WINDOW },
        input: (requestId, requestedAt) => ({ requestId, window, requestedAt }),
      },
    );
    return { window, workflowId, requestId, outcome };
  }

  private async archiveExists(): Promise<boolean> {
    const { slot } = archiveNamesFor(this.config.DATABASE_URL);
    const { rowCount } = await this.catalog.pool.query('SELECT 1 FROM wal_archives WHERE slot_name = $1', [slot]);
    return (rowCount ?? 0) > 0;
  }
}
