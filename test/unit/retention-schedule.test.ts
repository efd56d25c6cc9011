import { describe, expect, it } from 'vitest';
import { tuningFor } from '../../src/retention/retention.activities';
import { cutoffFor, tenantCutoffs } from '../../src/retention/cutoffs';
import { nextTick, windowStart } from '../../src/retention/schedule-window';
import { tuningWith } from '../../src/erasure/batch-size';

const at = (iso: string) => new Date(iso);
const window = (cron: string, iso: string, timeZone = 'UTC') => windowStart({ cron, timeZone }, at(iso))?.toISOString();

describe('retention windows', () => {
  it('names a firing by the tick that fired it, whether it ran on time or late', () => {
    expect(window('0 3 * * *', '2026-11-25T03:00:00.000Z')).toBe('2026-11-25T03:00:00.000Z');
    expect(window('0 3 * * *', '2026-11-25T03:00:00.734Z')).toBe('2026-11-25T03:00:00.000Z');
    expect(window('0 3 * * *', '2026-11-26T02:59:59.999Z')).toBe('2026-11-25T03:00:00.000Z');
  });

  it('gives the same window to replicas whose firings land at different instants of one interval', () => {
    const replicas = ['2026-11-25T03:00:00.002Z', '2026-11-25T03:00:01.400Z', '2026-11-25T04:15:00.000Z'].map((t) => window('0 3 * * *', t));
    expect(new Set(replicas)).toEqual(new Set(['2026-11-25T03:00:00.000Z']));
  });

  it('catches up the latest window only: one look back from a start long after the last tick', () => {
    // A weekly Monday 02:00 schedule; the service was down from Sunday until Thursday.
    expect(window('0 2 * * 1', '2026-11-26T09:30:00Z')).toBe('2026-11-23T02:00:00.000Z');
    // A yearly one, started in November: the window began on January 1st.
    expect(window('0 0 1 1 *', '2026-11-26T09:30:00Z')).toBe('2026-01-01T00:00:00.000Z');
  });

  it('reads the cron in its time zone and handles per-second schedules', () => {
    expect(window('0 3 * * *', '2026-11-25T05:00:00Z', 'Europe/Berlin')).toBe('2026-11-25T02:00:00.000Z');
    expect(window('* * * * * *', '2026-11-25T05:00:07.250Z')).toBe('2026-11-25T05:00:07.000Z');
    expect(nextTick({ cron: '0 3 * * *', timeZone: 'UTC' }, at('2026-11-25T03:00:00Z')).toISOString()).toBe('2026-11-26T03:00:00.000Z');
  });
});

describe('retention cutoffs', () => {
  it('counts 24-hour days back from the as-of instant', () => {
    expect(cutoffFor('2026-11-25T03:00:00.000Z', 365)).toBe('2025-11-25T03:00:00.000Z');
    expect(cutoffFor('2026-03-30T00:00:00.000Z', 1)).toBe('2026-03-29T00:00:00.000Z');
    expect(() => cutoffFor('yesterday', 1)).toThrow(RangeError);
  });

  it('gives a tenant with an override its own longer or shorter cutoff', () => {
    const policy = { maxAgeDays: 30, overrides: [{ tenantId: 'b', maxAgeDays: 90 }, { tenantId: 'c', maxAgeDays: 7 }] };
    expect(tenantCutoffs(policy, ['a', 'b', 'c'], '2026-11-25T00:00:00.000Z')).toEqual([
      { tenantId: 'a', maxAgeDays: 30, cutoff: '2026-10-26T00:00:00.000Z' },
      { tenantId: 'b', maxAgeDays: 90, cutoff: '2026-08-27T00:00:00.000Z' },
      { tenantId: 'c', maxAgeDays: 7, cutoff: '2026-11-18T00:00:00.000Z' },
    ]);
  });
});

describe('retention batch limits', () => {
  it('cap the erasure engine batch size and pause between batches, and stay valid tuning for small caps', () => {
    expect(tuningWith(tuningFor({ maxRows: 5000, pauseMs: 20 }))).toMatchObject({ maxBatchRows: 5000, initialBatchRows: 1000, pauseMs: 20 });
    expect(tuningWith(tuningFor({ maxRows: 10 }))).toMatchObject({ maxBatchRows: 10, minBatchRows: 10, initialBatchRows: 10 });
    expect(tuningFor({})).toEqual({});
  });
});
