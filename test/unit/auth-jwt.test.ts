import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier, JwtSettings } from '../../src/auth/jwt-verifier';
import { publicKeysFromPem } from '../../src/auth/public-keys';

const audience = 'compliance-ops';
const issuer = 'https://idp.example';
const secret = 's'.repeat(40);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

type Claims = Record<string, unknown>;
const operator: Claims = { role: 'operator' };

function sign(alg: 'RS256' | 'ES256' | 'HS256', key: KeyObject | Uint8Array, claims: Claims = operator, options: {
  aud?: string; iss?: string; exp?: number | string; kid?: string;
} = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, ...(options.kid ? { kid: options.kid } : {}) })
    .setSubject('svc-billing')
    .setAudience(options.aud ?? audience)
    .setIssuer(options.iss ?? issuer)
    .setExpirationTime(options.exp ?? '5m')
    .sign(key);
}

const pemSettings: JwtSettings = { audience, issuer, publicKeys: publicKeysFromPem(pem(rsa.publicKey) + '\n' + pem(ec.publicKey)) };

describe('JWT verification with an identity provider\'s public keys (PEM)', () => {
  const verify = createJwtVerifier(pemSettings);

  it.each([
    ['RS256', () => sign('RS256', rsa.privateKey)],
    ['ES256', () => sign('ES256', ec.privateKey)],
  ])('accepts an %s token signed by a configured key', async (_alg, make) => {
    await expect(verify(await make())).resolves.toEqual({ subject: 'svc-billing', role: 'operator' });
  });

  it('matches a PEM key whatever kid the identity provider put in the token', async () => {
    await expect(verify(await sign('RS256', rsa.privateKey, operator, { kid: 'idp-key-2025' }))).resolves.toMatchObject({ role: 'operator' });
  });

  it('reads the tenant of a tenant admin, and claims named as the identity provider names them', async () => {
    const custom = createJwtVerifier({ ...pemSettings, roleClaim: 'https://co/role', tenantClaim: 'org' });
    const token = await sign('ES256', ec.privateKey, { 'https://co/role': 'tenant-admin', org: 'acme' });
    await expect(custom(token)).resolves.toEqual({ subject: 'svc-billing', role: 'tenant-admin', tenantId: 'acme' });
  });

  it.each([
    ['unsigned (alg none)', async () => new UnsecuredJWT(operator).setSubject('x').setAudience(audience).setIssuer(issuer)
      .setExpirationTime('5m').encode()],
    ['HS256 "signed" with the RSA public key as the secret (algorithm confusion)',
      () => sign('HS256', new TextEncoder().encode(pem(rsa.publicKey)))],
    ['HS256 while HS256 is not configured', () => sign('HS256', new TextEncoder().encode(secret))],
    ['signed by a key that is not configured', () => sign('ES256', otherEc.privateKey)],
    ['expired', () => sign('RS256', rsa.privateKey, operator, { exp: Math.floor(Date.now() / 1000) - 60 })],
    ['for another audience', () => sign('RS256', rsa.privateKey, operator, { aud: 'someone-else' })],
    ['from another issuer', () => sign('ES256', ec.privateKey, operator, { iss: 'https://evil.example' })],
    ['with an unknown role', () => sign('ES256', ec.privateKey, { role: 'root' })],
    ['tenant-admin without a tenant', () => sign('ES256', ec.privateKey, { role: 'tenant-admin' })],
    ['not a JWT', async () => 'abc.def'],
  ])('refuses a token %s as invalid_token', async (_what, make) => {
    await expect(verify(await make())).rejects.toMatchObject({ kind: 'unauthorized', code: 'invalid_token' });
  });

  it('pins each PEM key to its algorithm: an RSA key cannot verify an ES256 header', async () => {
    const rsaOnly = createJwtVerifier({ audience, issuer, publicKeys: publicKeysFromPem(pem(rsa.publicKey)) });
    await expect(rsaOnly(await sign('ES256', ec.privateKey))).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('refuses keys it cannot pin to RS256 or ES256', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ed = generateKeyPairSync('ed25519');
    expect(() => publicKeysFromPem(pem(weak.publicKey))).toThrow(/RSA/);
    expect(() => publicKeysFromPem(pem(ed.publicKey))).toThrow(/neither RSA/);
    expect(() => publicKeysFromPem('/no/such/file.pem')).toThrow(/neither PEM text nor an existing file/);
  });
});

describe('JWT verification with HS256 (the local stack) next to an identity provider', () => {
  const verify = createJwtVerifier({ ...pemSettings, hs256Secret: secret });

  it('accepts both', async () => {
    await expect(verify(await sign('HS256', new TextEncoder().encode(secret)))).resolves.toMatchObject({ role: 'operator' });
    await expect(verify(await sign('RS256', rsa.privateKey))).resolves.toMatchObject({ role: 'operator' });
  });

  it('still refuses an HS256 token made with the public key', async () => {
    await expect(verify(await sign('HS256', new TextEncoder().encode(pem(ec.publicKey))))).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('JWT verification against a JWKS URL', () => {
  let server: Server;
  let url: string;
  let fetches = 0;
  let available = true;

  beforeAll(async () => {
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }] };
    server = createServer((_req, res) => {
      fetches += 1;
      if (!available) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('accepts a token whose kid is in the set, fetching the set once', async () => {
    const verify = createJwtVerifier({ audience, issuer, jwksUrl: url });
    const before = fetches;
    for (let i = 0; i < 3; i++) {
      await expect(verify(await sign('RS256', rsa.privateKey, operator, { kid: 'rsa-1' }))).resolves.toMatchObject({ role: 'operator' });
    }
    expect(fetches - before).toBe(1);
  });

  it('refuses an unknown kid, a wrong signature and alg none', async () => {
    const verify = createJwtVerifier({ audience, issuer, jwksUrl: url });
    await expect(verify(await sign('RS256', rsa.privateKey, operator, { kid: 'rotated-away' }))).rejects.toMatchObject({ code: 'invalid_token' });
    const forged = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(verify(await sign('RS256', forged.privateKey, operator, { kid: 'rsa-1' }))).rejects.toMatchObject({ code: 'invalid_token' });
    const none = new UnsecuredJWT(operator).setSubject('x').setAudience(audience).setIssuer(issuer).setExpirationTime('5m').encode();
    await expect(verify(none)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('answers 503 auth_unavailable, not 401, when the identity provider is down', async () => {
    available = false;
    try {
      const verify = createJwtVerifier({ audience, issuer, jwksUrl: url });
      await expect(verify(await sign('RS256', rsa.privateKey, operator, { kid: 'rsa-1' })))
        .rejects.toMatchObject({ kind: 'unavailable', code: 'auth_unavailable' });
    } finally {
      available = true;
    }
  });

  it('tries the PEM keys first and the JWKS for a key it does not have', async () => {
    const verify = createJwtVerifier({ audience, issuer, jwksUrl: url, publicKeys: publicKeysFromPem(pem(ec.publicKey)) });
    await expect(verify(await sign('ES256', ec.privateKey))).resolves.toMatchObject({ role: 'operator' });
    await expect(verify(await sign('RS256', rsa.privateKey, operator, { kid: 'rsa-1' }))).resolves.toMatchObject({ role: 'operator' });
  });
});
