import { CronTime, validateCronExpression } from 'cron';

const SECOND_MS = 1000;
/** How far back a window start is looked for: a cron that fires less than once in 8 years has no window now. */
const MAX_LOOKBACK_MS = 8 * 366 * 24 * 3600 * SECOND_MS;

export interface Schedule {
  cron: string;
  timeZone: string;
}

/**
 * The start of the window `at` falls in: the latest tick of the schedule at
 * or before `at`. A firing's window is the tick that fired it — the cron
 * package never fires early, and a late firing (a busy event loop, a replica
 * whose clock lags) still lands in the tick's window as long as it is less
 * than one interval late — so every replica firing the same tick names the
 * same window. Null if the schedule never fired in the last 8 years.
 */
export function windowStart(schedule: Schedule, at: Date): Date | null {
  const time = new CronTime(schedule.cron, schedule.timeZone);
  const nextAfter = (from: number) => time.getNextDateFrom(new Date(from), schedule.timeZone).toMillis();
  const now = at.getTime();
  // Widen the look-back until some tick lies inside it…
  let tick: number | null = null;
  for (let back = SECOND_MS; back <= MAX_LOOKBACK_MS && tick === null; back *= 2) {
    const candidate = nextAfter(now - back);
    if (candidate <= now) tick = candidate;
  }
  if (tick === null) return null;
  // …then walk forward to the last one not after `at`.
  for (let next = nextAfter(tick); next <= now; next = nextAfter(tick)) tick = next;
  return new Date(tick);
}

/** The next tick after `at`: when the policy runs next. */
export function nextTick(schedule: Schedule, at: Date = new Date()): Date {
  return new CronTime(schedule.cron, schedule.timeZone).getNextDateFrom(at, schedule.timeZone).toJSDate();
}

/** A cron the `cron` package can run, in a time zone it knows, that fires at least once in the next 8 years. */
export function checkCron(cron: string, timeZone: string): { field: 'schedule' | 'timeZone'; message: string } | null {
  const { valid, error } = validateCronExpression(cron);
  if (!valid) return { field: 'schedule', message: `"${cron}" is not a cron expression (${error?.message}); e.g. "0 3 * * *" is daily at 03:00` };
  let time: CronTime;
  try {
    time = new CronTime(cron, timeZone);
  } catch (e) {
    return { field: 'timeZone', message: `"${timeZone}" is not a time zone (${(e as Error).message}); use an IANA name such as UTC or Europe/Berlin` };
  }
  try {
    time.sendAt();
  } catch {
    return { field: 'schedule', message: `"${cron}" never fires` };
  }
  return null;
}
