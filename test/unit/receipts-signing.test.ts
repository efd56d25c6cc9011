import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { joseToDerSignature, localEcdsaSigner } from '../../src/kms/ecdsa';
import { derToJoseSignature } from '../../src/kms/jws';
import { canonicalJson } from '../../src/receipts/canonical-json';
import { jwkThumbprint, noteVerifierKey, publicJwk } from '../../src/receipts/keys';
import { Receipt, RECEIPT_JWS_TYPE } from '../../src/receipts/receipt.types';
import { decodeReceipt, receiptDigest, signReceipt, signersJwks } from '../../src/receipts/sign';
import { hashSubject } from '../../src/receipts/subject-hash';
import { parseReceiptContent } from '../../src/receipts/validate-content';

const newSigner = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return localEcdsaSigner(privateKey, publicKey);
};

const SECRET = 'a-service-secret-that-is-long-enough-for-hmac';

function content(overrides: Record<string, unknown> = {}) {
  return {
    requestId: '6f9c1c2e-8a51-4d4e-9d61-0d1f2b3c4d5e',
    kind: 'erasure',
    tenantId: 'tenant-7',
    scope: { type: 'subject', subjectHashes: [hashSubject(SECRET, 'tenant-7', 'ada@example.com')] },
    policy: { reason: 'data subject request', legalBasis: 'GDPR Art. 17(1)(a)', graceSeconds: 0 },
    requestedBy: { role: 'operator', subject: 'svc-dpo-desk' },
    tables: [{ table: 'users', method: 'delete', rows: 1 }, { table: 'invoices', method: 'anonymize', rows: 3, columns: [{ column: 'email', strategy: 'hash' }] }],
    timestamps: { requestedAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:05.000Z', completedAt: '2026-01-01T00:01:00.000Z' },
    verification: { method: 'row-count-in-fresh-snapshot', result: 'passed', snapshot: '1234:1234:', checkedAt: '2026-01-01T00:01:00.000Z', tables: [{ table: 'users', rowsRemaining: 0 }] },
    remains: [
      { what: 'dead-tuples', status: 'expires', until: 'next VACUUM of each table' },
      { what: 'exports', status: 'shredded', until: null, objects: 2 },
    ],
    notCovered: [{ table: 'audit_events', reason: 'global table: no tenant relation' }],
    legalHolds: [],
    workflow: { id: 'erasure:tenant-7:6f9c1c2e' },
    ...overrides,
  };
}

describe('DER ↔ JOSE ECDSA signatures', () => {
  it('round-trips 300 real signatures, including short r and s that need padding', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 300; i++) {
      const message = Buffer.from(`message ${i}`);
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      const raw = derToJoseSignature(der);
      expect(raw).toHaveLength(64);
      expect(joseToDerSignature(raw).equals(der)).toBe(true);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
    }
  });

  it('encodes high-bit and leading-zero integers as DER requires', () => {
    const raw = Buffer.concat([Buffer.alloc(31), Buffer.from([0x01]), Buffer.from([0x80]), Buffer.alloc(31, 0xff)]);
    expect(joseToDerSignature(raw).toString('hex')).toBe(`3026020101022100${'80'}${'ff'.repeat(31)}`);
  });
});

describe('receipt JWS', () => {
  const receipt = (): Receipt => ({
    ...(parseReceiptContent(content())),
    format: 'compliance-ops.receipt', version: 1, receiptId: '0c7e5b8a-1111-4a4a-8b8b-222233334444', issuedAt: '2026-01-01T00:01:01.000Z',
    tool: { name: 'compliance-ops', version: '0.1.0' },
    log: { origin: 'compliance-ops.test/receipts', index: 0, previous: null },
  });

  it('verifies with a standard JOSE library, with ES256, its own typ and the RFC 7638 kid', async () => {
    const signer = newSigner();
    const jws = await signReceipt(receipt(), signer);
    const jwk = publicJwk(await signer.publicKey());
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }));
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(jwk, 'ES256'), { algorithms: ['ES256'] });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: jwk.kid, typ: RECEIPT_JWS_TYPE });
    expect(Buffer.from(payload).toString('utf8')).toBe(canonicalJson(receipt()));
    expect(decodeReceipt(jws)).toEqual(receipt());
    expect(receiptDigest(jws)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('publishes both keys with their purposes, and a note verifier key in the Go format', async () => {
    const receipts = newSigner();
    const checkpoints = newSigner();
    const jwks = await signersJwks({ receipts, checkpoints });
    expect(jwks.keys.map((k) => k.purpose)).toEqual(['receipts', 'checkpoints']);
    expect(jwks.keys[1].kid).toBe(jwkThumbprint(await checkpoints.publicKey()));
    expect(noteVerifierKey('compliance-ops.test/receipts', await checkpoints.publicKey())).toMatch(/^compliance-ops\.test\/receipts\+[0-9a-f]{8}\+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA[A-Za-z0-9+/]+=*$/);
  });
});

describe('subject hashes and receipt content', () => {
  it('hashes a subject with a per-tenant key: stable, unlinkable across tenants, never the value', () => {
    const a = hashSubject(SECRET, 'tenant-1', 'ada@example.com');
    expect(a).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(hashSubject(SECRET, 'tenant-1', 'ada@example.com')).toBe(a);
    expect(hashSubject(SECRET, 'tenant-2', 'ada@example.com')).not.toBe(a);
    expect(hashSubject(`${SECRET}x`, 'tenant-1', 'ada@example.com')).not.toBe(a);
    expect(() => hashSubject('short', 'tenant-1', 'x')).toThrow(/at least 32 bytes/);
  });

  it('refuses content that is incomplete or carries something that looks like an e-mail address', () => {
    expect(parseReceiptContent(content()).tenantId).toBe('tenant-7');
    expect(() => parseReceiptContent(content({ tables: [{ table: 'users', method: 'shred', rows: 1 }] }))).toThrow(/not valid/);
    expect(() => parseReceiptContent(content({ scope: { type: 'subject', subjectHashes: ['ada@example.com'] } }))).toThrow(/not valid/);
    expect(() => parseReceiptContent(content({ requestedBy: { role: 'operator', subject: 'dpo@example.com' } })))
      .toThrow(/requestedBy.subject looks like an e-mail address/);
  });
});
