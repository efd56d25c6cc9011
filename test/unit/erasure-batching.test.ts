import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacPads } from '../../src/erasure/anonymize';
import { nextBatchRows, pauseAfterMs, retryDelayMs, shrinkAfterFailure, tuningWith } from '../../src/erasure/batch-size';
import { PurgePlan } from '../../src/erasure/erasure.types';
import { resumeCursor, startCursor } from '../../src/erasure/purge';

describe('adaptive batch size', () => {
  const tuning = tuningWith({ initialBatchRows: 1000, minBatchRows: 100, maxBatchRows: 20_000, targetBatchMs: 200 });

  it('doubles after a fast batch, halves after a slow one, holds in between', () => {
    expect(nextBatchRows(1000, 50, tuning)).toBe(2000);
    expect(nextBatchRows(1000, 350, tuning)).toBe(500);
    expect(nextBatchRows(1000, 150, tuning)).toBe(1000);
  });

  it('stays within its bounds', () => {
    expect(nextBatchRows(16_000, 1, tuning)).toBe(20_000);
    expect(nextBatchRows(150, 5_000, tuning)).toBe(100);
    expect(shrinkAfterFailure(100, tuning)).toBe(100);
  });

  it('settles where a batch takes between half the target and the target', () => {
    // A table where each row costs 0.05 ms: 2,000 to 4,000 rows take 100–200 ms.
    let rows = tuning.initialBatchRows;
    for (let i = 0; i < 20; i += 1) rows = nextBatchRows(rows, rows * 0.05, tuning);
    expect(rows * 0.05).toBeGreaterThanOrEqual(100);
    expect(rows * 0.05).toBeLessThanOrEqual(200);
  });

  it('rejects impossible tuning', () => {
    expect(() => tuningWith({ minBatchRows: 500, maxBatchRows: 100 })).toThrow(RangeError);
    expect(() => tuningWith({ dutyCycle: 0 })).toThrow(RangeError);
    expect(tuningWith({ initialBatchRows: 5, minBatchRows: 50 }).initialBatchRows).toBe(50);
  });
});

describe('pacing and retries', () => {
  it('sleeps so that batches take the duty cycle\'s share of the time', () => {
    expect(pauseAfterMs(200, tuningWith({ dutyCycle: 0.5 }))).toBe(200);
    expect(pauseAfterMs(200, tuningWith({ dutyCycle: 0.8 }))).toBe(50);
    expect(pauseAfterMs(200, tuningWith({ dutyCycle: 1, pauseMs: 10 }))).toBe(10);
  });

  it('backs off exponentially with jitter', () => {
    const tuning = tuningWith({ retryBaseMs: 100 });
    expect(retryDelayMs(1, tuning, () => 1)).toBe(100);
    expect(retryDelayMs(4, tuning, () => 1)).toBe(800);
    expect(retryDelayMs(4, tuning, () => 0)).toBe(0);
  });
});

describe('resume cursor', () => {
  const plan = { steps: [{}, {}, {}] } as unknown as PurgePlan;

  it('is trusted when it fits the plan', () => {
    const cursor = { stepIndex: 2, affectedRows: [10, 20, 5], batches: 9 };
    expect(resumeCursor(plan, cursor)).toEqual(cursor);
    expect(resumeCursor(plan, cursor)).not.toBe(cursor);
  });

  it('starts over when it does not (another plan, or garbage in a heartbeat)', () => {
    expect(resumeCursor(plan, { stepIndex: 1, affectedRows: [1, 2], batches: 3 })).toEqual(startCursor(plan));
    expect(resumeCursor(plan, { stepIndex: 7, affectedRows: [1, 2, 3], batches: 3 })).toEqual(startCursor(plan));
    expect(resumeCursor(plan, null)).toEqual({ stepIndex: 0, affectedRows: [0, 0, 0], batches: 0 });
  });
});

describe('HMAC pads', () => {
  it('make sha256(outer ‖ sha256(inner ‖ m)) equal HMAC-SHA-256, for short and long keys', () => {
    const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
    for (const key of [Buffer.alloc(32, 7), Buffer.alloc(100, 3)]) {
      const { hmacInner, hmacOuter } = hmacPads(key);
      const message = Buffer.from('jane.doe@example.com', 'utf8');
      expect(sha256(hmacOuter, sha256(hmacInner, message)).toString('hex')).toBe(createHmac('sha256', key).update(message).digest('hex'));
    }
  });
});
