import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from '../../src/http/rate-limit';

describe('the per-credential token bucket', () => {
  it('allows a burst, then refuses with the seconds until the next token', () => {
    const limiter = new TokenBucketLimiter(2, 4);
    const t0 = 1_000_000;
    for (let i = 0; i < 4; i++) expect(limiter.take('a', t0)).toEqual({ allowed: true });
    expect(limiter.take('a', t0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Another credential has its own bucket.
    expect(limiter.take('b', t0)).toEqual({ allowed: true });
  });

  it('refills at the sustained rate, never beyond the burst', () => {
    const limiter = new TokenBucketLimiter(10, 5);
    const t0 = 1_000_000;
    for (let i = 0; i < 5; i++) limiter.take('a', t0);
    expect(limiter.take('a', t0).allowed).toBe(false);
    expect(limiter.take('a', t0 + 100).allowed).toBe(true); // 0.1 s at 10/s: one token
    expect(limiter.take('a', t0 + 100).allowed).toBe(false);
    // A long pause refills to the burst, not more.
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (limiter.take('a', t0 + 3_600_000).allowed) allowed += 1;
    expect(allowed).toBe(5);
  });

  it('rounds Retry-After up to whole seconds at slow rates', () => {
    const limiter = new TokenBucketLimiter(0.1, 1);
    limiter.take('a', 0);
    expect(limiter.take('a', 0)).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it('forgets full buckets when it holds too many, so idle clients cost no memory', () => {
    const limiter = new TokenBucketLimiter(100, 1, 3);
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0);
    expect(limiter.size).toBe(3);
    limiter.take('d', 1_000); // a, b, c refilled long ago
    expect(limiter.size).toBe(1);
  });
});
