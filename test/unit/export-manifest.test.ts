import { createSign, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derToJoseSignature, verifyJws } from '../../src/kms/jws';
import { buildManifest, matchesSubject, subjectDigest } from '../../src/export/manifest';
import { FileRecord } from '../../src/export/export.types';
import { exportPrefix, isSafeChunkKey, isSafeFilePath } from '../../src/export/layout';

const file = (path: string, snapshot: number): FileRecord => ({
  path, table: { schema: 'public', name: path }, rows: 1, bytes: 1, sha256: 'x', snapshot, chunks: [],
});
const snapshot = { takenAt: '2026-01-01T00:00:00.000Z', lsn: '0/1', xmin: '1', xmax: '2', xip: [] };
const base = {
  requestId: 'r1', tenantId: 't1', dataFormat: 'csv' as const, compression: 'gzip' as const, snapshots: [snapshot, snapshot],
  encryption: { keyArn: 'arn:k', suite: 's', frameBytes: 1, context: {} },
};

describe('export manifest', () => {
  it('stores the subject only as a salted HMAC that still verifies the right value', () => {
    const manifest = buildManifest({ ...base, files: [], subject: { column: 'email', value: 'ada@example.com' } });
    expect(JSON.stringify(manifest)).not.toContain('ada@example.com');
    if (manifest.scope.kind !== 'subject') throw new Error('expected a subject scope');
    expect(matchesSubject(manifest.scope.value, { column: 'email', value: 'ada@example.com' })).toBe(true);
    expect(matchesSubject(manifest.scope.value, { column: 'email', value: 'eve@example.com' })).toBe(false);
    expect(subjectDigest({ column: 'email', value: 'a' }).digest).not.toBe(subjectDigest({ column: 'email', value: 'a' }).digest);
  });

  it('is consistent only when every table was read under one snapshot', () => {
    expect(buildManifest({ ...base, files: [file('a', 0), file('b', 0)] }).consistent).toBe(true);
    expect(buildManifest({ ...base, files: [file('a', 0), file('b', 1)] }).consistent).toBe(false);
  });

  it('keeps every path it names inside the output directory', () => {
    expect(isSafeFilePath('tables/users.csv')).toBe(true);
    expect(isSafeFilePath('tables/app.users%2Fx.jsonl')).toBe(true);
    for (const bad of ['../etc/passwd', 'tables/../../x.csv', '/abs.csv', 'tables/a/b.csv', 'tables/..csv']) expect(isSafeFilePath(bad), bad).toBe(false);
    expect(isSafeChunkKey('tables/users.csv.part-00012.gz.esdk')).toBe(true);
    expect(isSafeChunkKey('tables/../users.csv.part-00012.gz.esdk')).toBe(false);
  });

  it('refuses request ids that would escape the tenant prefix', () => {
    expect(exportPrefix('t1', 'req-1')).toBe('tenants/t1/exports/req-1/');
    expect(() => exportPrefix('t1', '../other')).toThrow(/Request ids/);
    expect(() => exportPrefix('t1', 'a/b')).toThrow(/Request ids/);
  });
});

describe('JWS ES256 from a DER ECDSA signature', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b64u = (s: string) => Buffer.from(s).toString('base64url');

  it('converts DER to r‖s so that a standard ES256 verifier accepts it', () => {
    // Many signatures, so r or s with a leading zero byte (DER drops or pads it) are covered.
    for (let i = 0; i < 200; i++) {
      const signingInput = `${b64u(JSON.stringify({ alg: 'ES256', typ: 't', kid: 'k' }))}.${b64u(JSON.stringify({ i }))}`;
      const der = createSign('sha256').update(signingInput).sign(privateKey);
      const raw = derToJoseSignature(der);
      expect(raw).toHaveLength(64);
      const jws = `${signingInput}.${raw.toString('base64url')}`;
      expect(verifyJws<{ i: number }>(jws, publicKey, 't').payload.i).toBe(i);
    }
  });

  it('pins the algorithm and type and rejects a changed payload', () => {
    const signingInput = `${b64u(JSON.stringify({ alg: 'ES256', typ: 't', kid: 'k' }))}.${b64u('{"a":1}')}`;
    const sig = derToJoseSignature(createSign('sha256').update(signingInput).sign(privateKey)).toString('base64url');
    expect(() => verifyJws(`${signingInput}.${sig}`, publicKey, 'other')).toThrow(/unexpected JWS type/);
    const forged = `${signingInput.split('.')[0]}.${b64u('{"a":2}')}.${sig}`;
    expect(() => verifyJws(forged, publicKey, 't')).toThrow(/does not verify/);
    const none = `${b64u(JSON.stringify({ alg: 'none', typ: 't' }))}.${b64u('{}')}.`;
    expect(() => verifyJws(none, publicKey, 't')).toThrow(/only ES256/);
  });

  it('rejects malformed DER', () => {
    expect(() => derToJoseSignature(Buffer.from([0x30, 0x03, 0x02, 0x01]))).toThrow(/Malformed/);
  });
});
