import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { logger } from '../logger';
import { RetentionPolicies } from './retention-policies.service';
import { Firing, RetentionRuns } from './retention-runs.service';
import { RetentionPolicy } from './retention.types';
import { windowStart } from './schedule-window';

/** A firing that cannot reach the catalog or Temporal tries again: 1 s, 2 s, 4 s, 8 s, 16 s apart. */
const FIRE_ATTEMPTS = 6;

/**
 * Fires each policy's cron in every API replica. A firing starts the run of
 * the window it belongs to (the tick that fired it); the run's workflow id
 * and request id derive from policy and window, so however many replicas
 * fire, one run starts per window.
 *
 * Catch-up: on start, a policy with `catchUp: last` (the default) fires once
 * for the latest window, the last tick at or before now. If no instance ran
 * at that tick, the run starts now; if one did, that run's request (or its
 * workflow) is found and nothing starts. It looks back that one window only:
 * every run purges all rows older than its cutoff, so the latest window's run
 * also removes what any earlier missed run would have.
 */
@Injectable()
export class RetentionScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly jobs: string[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly policies: RetentionPolicies,
    private readonly runs: RetentionRuns,
  ) {}

  onApplicationBootstrap(): void {
    for (const policy of this.policies.list()) {
      const name = `retention:${policy.name}`;
      const job = CronJob.from({
        cronTime: policy.schedule.cron,
        timeZone: policy.schedule.timeZone,
        onTick: () => void this.track(this.fire(policy, new Date())),
        start: false,
      });
      this.registry.addCronJob(name, job);
      this.jobs.push(name);
      job.start();
      if (policy.catchUp === 'last') void this.track(this.fire(policy, new Date()));
    }
  }

  /** Stops the crons and waits for firings under way, so none outlives the pools it uses. */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    for (const name of this.jobs.splice(0)) this.registry.deleteCronJob(name);
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Starts the run of the window `at` falls in, from any replica, any number
   * of times. Returns what happened, or null when the schedule has no window
   * yet. Errors are logged, never thrown: a cron callback has no caller.
   */
  async fire(policy: RetentionPolicy, at: Date): Promise<Firing | null> {
    const start = windowStart(policy.schedule, at);
    if (!start) return null;
    for (let attempt = 1; ; attempt++) {
      try {
        const firing = await this.runs.startWindow(policy, start);
        logger.info(firing, 'retention window fired');
        return firing;
      } catch (error) {
        const message = (error as Error).message;
        if (attempt >= FIRE_ATTEMPTS || this.stopping.signal.aborted) {
          logger.error({ policy: policy.name, window: start.toISOString(), err: message },
            'retention window not started; the next firing, or catch-up at the next start, will run it');
          return null;
        }
        logger.warn({ policy: policy.name, window: start.toISOString(), attempt, err: message }, 'retention firing failed; retrying');
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
