export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A token bucket per credential, in memory: `ratePerSecond` sustained, up to
 * `burst` at once. Per process, so N API replicas allow N times the rate: the
 * API uses the catalog's shared buckets (catalog-rate-limit.ts) and this only
 * while the catalog does not answer.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    /** beyond this many buckets, full ones (idle clients) are forgotten: they carry no state */
    private readonly maxBuckets = 10_000,
  ) {}

  /** Takes one token; when none is left, says how many seconds until one is. */
  take(key: string, nowMs = Date.now()): RateVerdict {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = nowMs;
    if (!this.buckets.has(key)) {
      if (this.buckets.size >= this.maxBuckets) this.forgetFull(nowMs);
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private forgetFull(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((nowMs - bucket.at) / 1000) * this.ratePerSecond >= this.burst) this.buckets.delete(key);
    }
  }
}
