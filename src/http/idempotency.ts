import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { badInput } from '../errors';

const IdempotencyKey = z.string().regex(/^[\w.:-]{1,128}$/);

/** The Idempotency-Key header, checked for format; absent is fine. */
export function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw !== undefined && !IdempotencyKey.safeParse(raw).success) {
    throw badInput('invalid_idempotency_key', 'Idempotency-Key is 1–128 letters, digits, `_ . : -`');
  }
  return raw;
}

/**
 * What a replayed key must match: the tenant and the body. Keyed, because a
 * body may hold a subject's identifier and a plain hash of a guessable e-mail
 * address is no secret.
 */
export function requestBodyDigest(secret: string, tenantId: string, body: unknown): string {
  return createHmac('sha256', secret).update(JSON.stringify({ tenantId, body })).digest('hex');
}
