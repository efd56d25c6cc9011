import { setTimeout as sleep } from 'node:timers/promises';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { logger } from '../logger';
import { Schedule } from './schedule-window';

/** A firing that cannot reach the catalog or Temporal tries again: 1 s, 2 s, 4 s, 8 s, 16 s apart. */
const FIRE_ATTEMPTS = 6;

/**
 * Cron jobs whose firings start the run of a window (schedule-window.ts),
 * in every API replica: the run's workflow id and request id derive from the
 * window (window-run.ts), so however many replicas fire, one run starts.
 * Shared by retention policies and the snapshot schedule.
 */
export class WindowCron {
  private readonly jobs: string[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();

  constructor(private readonly registry: SchedulerRegistry) {}

  /**
   * Registers and starts the cron `name`; each tick calls `fire` with the
   * tick's time. With `catchUp`, also fires once now, for the latest window:
   * if no instance ran at that tick it runs now, if one did nothing starts.
   */
  schedule(name: string, schedule: Schedule, fire: (at: Date) => Promise<unknown>, catchUp: boolean): void {
    const job = CronJob.from({
      cronTime: schedule.cron,
      timeZone: schedule.timeZone,
      onTick: () => void this.track(fire(new Date())),
      start: false,
    });
    this.registry.addCronJob(name, job);
    this.jobs.push(name);
    job.start();
    if (catchUp) void this.track(fire(new Date()));
  }

  /** Stops the crons and waits for firings under way, so none outlives the pools it uses. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const name of this.jobs.splice(0)) this.registry.deleteCronJob(name);
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Starts one window's run, retrying while the catalog or Temporal cannot be
   * reached. Errors are logged, never thrown: a cron callback has no caller,
   * and the next firing (or the catch-up at the next start) runs the window.
   */
  async startWithRetry<T extends object>(what: string, window: Record<string, unknown>, start: () => Promise<T>): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        const firing = await start();
        logger.info({ ...firing } as Record<string, unknown>, `${what} fired`);
        return firing;
      } catch (error) {
        const err = (error as Error).message;
        if (attempt >= FIRE_ATTEMPTS || this.stopping.signal.aborted) {
          logger.error({ ...window, err }, `${what} not started; the next firing, or catch-up at the next start, will run it`);
          return null;
        }
        logger.warn({ ...window, attempt, err }, `${what} firing failed; retrying`);
        await sleep(1000 * 2 ** (attempt - 1), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }
}
