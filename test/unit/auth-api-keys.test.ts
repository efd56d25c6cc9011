import { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { API_KEY_PREFIX, ApiKeysRepository, generateApiKey, hashApiKey, isApiKey } from '../../src/auth/api-keys';

describe('API keys', () => {
  it('are 256 random bits behind a recognisable prefix, stored as their SHA-256 only', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(/^coak_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.sha256).toBe(hashApiKey(a.key));
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.key.startsWith(a.prefix)).toBe(true);
    // The shown prefix is 5 characters of randomness: enough to tell keys apart, nothing to guess with.
    expect(a.prefix.length).toBe(API_KEY_PREFIX.length + 5);
  });

  it('are told from JWTs by their prefix', async () => {
    expect(isApiKey(generateApiKey().key)).toBe(true);
    expect(isApiKey('eyJhbGciOiJIUzI1NiJ9.e30.x')).toBe(false);
  });

  it('a malformed key is refused without a catalog lookup', async () => {
    const pool = { query: () => { throw new Error('must not query'); } } as unknown as Pool;
    const keys = new ApiKeysRepository(pool);
    for (const key of ['coak_', 'coak_short', `coak_${'a'.repeat(42)}!`, `coak_${'a'.repeat(44)}`]) {
      await expect(keys.principalFor(key)).resolves.toBeUndefined();
    }
  });

  it('a tenant-admin key needs a tenant, and only it takes one', async () => {
    const pool = { query: () => { throw new Error('must not query'); } } as unknown as Pool;
    const keys = new ApiKeysRepository(pool);
    await expect(keys.create({ name: 'x', role: 'tenant-admin', createdBy: 't' })).rejects.toMatchObject({ code: 'tenant_required' });
    await expect(keys.create({ name: 'x', role: 'operator', tenantId: 'acme', createdBy: 't' })).rejects.toMatchObject({ code: 'tenant_required' });
  });
});
