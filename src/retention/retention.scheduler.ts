import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RetentionPolicies } from './retention-policies.service';
import { Firing, RetentionRuns } from './retention-runs.service';
import { RetentionPolicy } from './retention.types';
import { windowStart } from './schedule-window';
import { WindowCron } from './window-cron';

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
  private readonly cron: WindowCron;

  constructor(
    registry: SchedulerRegistry,
    private readonly policies: RetentionPolicies,
    private readonly runs: RetentionRuns,
  ) {
    this.cron = new WindowCron(registry);
  }

  onApplicationBootstrap(): void {
    for (const policy of this.policies.list()) {
      this.cron.schedule(`retention:${policy.name}`, policy.schedule, (at) => this.fire(policy, at), policy.catchUp === 'last');
    }
  }

  /** Stops the crons and waits for firings under way, so none outlives the pools it uses. */
  async onModuleDestroy(): Promise<void> {
    await this.cron.stop();
  }

  /**
   * Starts the run of the window `at` falls in, from any replica, any number
   * of times. Returns what happened, or null when the schedule has no window
   * yet or the run could not be started (logged, never thrown).
   */
  async fire(policy: RetentionPolicy, at: Date): Promise<Firing | null> {
    const start = windowStart(policy.schedule, at);
    if (!start) return null;
    return this.cron.startWithRetry('retention window', { policy: policy.name, window: start.toISOString() }, () => this.runs.startWindow(policy, start));
  }
}
