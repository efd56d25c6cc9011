/** Milliseconds per unit of a duration such as `7d`. */
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `PITR_WINDOW` and friends: a whole number and one unit, `7d`, `36h`, `90m`
 * or `30s`. Null when the text is not one; a window of zero is not one either
 * (it would keep no restore point at all).
 */
export function parseDurationMs(text: string): number | null {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) return null;
  return Number(match[1]) * UNIT_MS[match[2]];
}

/**
 * The oldest instant a tenant can still be restored to, `windowMs` before
 * `now`: what PITR retention keeps everything for, and nothing older.
 */
export function windowStartOf(now: Date, windowMs: number): Date {
  return new Date(now.getTime() - windowMs);
}
