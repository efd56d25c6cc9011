import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { parseDurationMs, windowStartOf } from '../../src/restore/pitr-window';

describe('PITR window', () => {
  it('reads a whole number and one unit, and nothing else', () => {
    expect(parseDurationMs('7d')).toBe(7 * 86_400_000);
    expect(parseDurationMs('36h')).toBe(36 * 3_600_000);
    expect(parseDurationMs('90m')).toBe(90 * 60_000);
    expect(parseDurationMs('30s')).toBe(30_000);
    for (const bad of ['0d', '7', 'd', '1.5d', '7 days', '-1d', '7w', '']) expect(parseDurationMs(bad)).toBeNull();
  });

  it('starts the window that long before now', () => {
    expect(windowStartOf(new Date('2026-11-25T03:00:00Z'), 86_400_000).toISOString()).toBe('2026-11-24T03:00:00.000Z');
  });

  it('is checked with the snapshot schedule when the configuration loads, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({ PITR_WINDOW: 'a week', SNAPSHOT_SCHEDULE: 'daily', SNAPSHOT_TIME_ZONE: 'Mars/Olympus' } as NodeJS.ProcessEnv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/PITR_WINDOW: a duration such as 7d/);
    expect(message).toMatch(/SNAPSHOT_SCHEDULE: a cron expression/);
    expect(message).toMatch(/SNAPSHOT_TIME_ZONE: an IANA time zone/);
    expect(loadConfig({ SNAPSHOT_SCHEDULE: 'off' } as NodeJS.ProcessEnv).SNAPSHOT_SCHEDULE).toBe('off');
  });
});
