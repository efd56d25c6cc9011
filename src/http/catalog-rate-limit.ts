import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { sqlQuery } from '../db/sql-files';
import { logger } from '../logger';
import { RateVerdict, TokenBucketLimiter } from './rate-limit';

/** How often one process forgets idle buckets; any replica's sweep serves all. */
const SWEEP_EVERY_MS = 60_000;
/** After a failed catalog call, how long the in-process fallback is used before asking the catalog again. */
const FALLBACK_MS = 5_000;

/** What the catalog keeps of a credential: its SHA-256, never the credential. */
export function credentialDigest(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

/**
 * The per-credential token bucket, kept in the catalog so that it holds
 * across every API replica: one row per credential, one atomic upsert per
 * request (sql/queries/http/rate-limit-take.sql). If the catalog cannot
 * answer, each process falls back to its own in-memory bucket for a few
 * seconds: the limit loosens (N replicas, N buckets) rather than the API
 * refusing everyone.
 */
export class CatalogRateLimiter {
  private readonly fallback: TokenBucketLimiter;
  private lastSweepMs = 0;
  private fallbackUntilMs = 0;

  constructor(private readonly pool: Pool, private readonly ratePerSecond: number, private readonly burst: number) {
    this.fallback = new TokenBucketLimiter(ratePerSecond, burst);
  }

  async take(credential: string): Promise<RateVerdict> {
    const digest = credentialDigest(credential);
    const now = Date.now();
    if (now < this.fallbackUntilMs) return this.fallback.take(digest, now);
    try {
      const { rows } = await this.pool.query<{ allowed: boolean; tokens_left: number | null }>(
        sqlQuery('http', 'rate-limit-take.sql'), [digest, this.ratePerSecond, this.burst]);
      this.sweepNowAndThen(now);
      if (rows[0].allowed) return { allowed: true };
      const missing = 1 - Math.max(0, rows[0].tokens_left ?? 0);
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(missing / this.ratePerSecond)) };
    } catch (error) {
      this.fallbackUntilMs = now + FALLBACK_MS;
      logger.warn({ err: error }, 'rate limit: the catalog did not answer; using this process\'s own buckets for a few seconds');
      return this.fallback.take(digest, now);
    }
  }

  /** Deletes idle (hence full) buckets at most once a minute per process; off the request's path. */
  private sweepNowAndThen(now: number): void {
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return;
    this.lastSweepMs = now;
    const fullAfterSeconds = this.burst / this.ratePerSecond;
    this.pool.query(sqlQuery('http', 'rate-limit-sweep.sql'), [fullAfterSeconds + 60]).catch((error: unknown) => {
      logger.warn({ err: error }, 'rate limit: sweeping idle buckets failed; the next sweep retries');
    });
  }
}
