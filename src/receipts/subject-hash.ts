import { createHmac } from 'node:crypto';

/** Short secrets make the hashes guessable offline; refuse them outright. */
const MIN_SECRET_BYTES = 32;
/** Domain separation: this key is only ever a subject salt, version 1. */
const SALT_LABEL = 'compliance-ops/subject-salt/v1\0';

/**
 * The tenant's salt: HMAC-SHA256(service secret, label ‖ tenant id). One per
 * tenant, so the same person in two tenants gets two unrelated hashes, and a
 * salt handed to one tenant (to check its own receipts) says nothing about
 * another's. Derived, not stored: nothing to back up, rotate or leak per tenant.
 */
export function subjectSalt(secret: string | Buffer, tenantId: string): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (key.length < MIN_SECRET_BYTES) throw new Error(`the subject-hash secret needs at least ${MIN_SECRET_BYTES} bytes`);
  if (!tenantId) throw new Error('a subject hash needs the tenant id');
  return createHmac('sha256', key).update(SALT_LABEL + tenantId, 'utf8').digest();
}

/**
 * A data subject's identifier (an e-mail address, a user id…) as it may appear
 * in a receipt or tombstone: `hmac-sha256:<hex>`. Keyed, so the hash cannot be
 * reversed by hashing a list of candidate e-mail addresses without the
 * secret; deterministic, so the tenant (given its salt) can later show that a
 * named person's erasure is among the receipts. The value is hashed exactly
 * as given: normalise it (trim, lowercase an e-mail) before calling, the same
 * way everywhere.
 */
export function hashSubject(secret: string | Buffer, tenantId: string, value: string): string {
  if (value === '') throw new Error('an empty subject identifier cannot be hashed');
  const digest = createHmac('sha256', subjectSalt(secret, tenantId)).update(value, 'utf8').digest('hex');
  return `hmac-sha256:${digest}`;
}
