import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../../src/auth/tokens';

const settings = { secret: 's'.repeat(40), audience: 'compliance-ops', issuer: 'compliance-ops-local' };
const key = new TextEncoder().encode(settings.secret);

describe('bearer tokens', () => {
  it('a minted token verifies to its role and tenant', async () => {
    const token = await mintToken(settings, { role: 'tenant-admin', tenantId: 'acme' });
    await expect(verifyToken(settings, token)).resolves.toEqual({ subject: 'local-tenant-admin', role: 'tenant-admin', tenantId: 'acme' });
  });

  it('a tenant-admin token cannot be minted without a tenant', async () => {
    await expect(mintToken(settings, { role: 'tenant-admin' })).rejects.toThrow(/--tenant/);
  });

  it.each([
    ['expired', () => mintToken(settings, { role: 'operator' }, -10)],
    ['signed with another secret', () => mintToken({ ...settings, secret: 'x'.repeat(40) }, { role: 'operator' })],
    ['for another audience', () => mintToken({ ...settings, audience: 'elsewhere' }, { role: 'operator' })],
    ['unsigned (alg none)', async () => new UnsecuredJWT({ role: 'operator' }).setSubject('x').setAudience(settings.audience)
      .setIssuer(settings.issuer).setExpirationTime('1h').encode()],
    ['with an unknown role', () => new SignJWT({ role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x')
      .setAudience(settings.audience).setIssuer(settings.issuer).setExpirationTime('1h').sign(key)],
    ['tenant-admin without a tenant claim', () => new SignJWT({ role: 'tenant-admin' }).setProtectedHeader({ alg: 'HS256' })
      .setSubject('x').setAudience(settings.audience).setIssuer(settings.issuer).setExpirationTime('1h').sign(key)],
    ['not a JWT at all', async () => 'not-a-token'],
  ])('a token %s is refused as invalid_token', async (_what, make) => {
    await expect(verifyToken(settings, await make())).rejects.toMatchObject({ kind: 'unauthorized', code: 'invalid_token' });
  });
});
