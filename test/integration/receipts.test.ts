import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, GetObjectRetentionCommand, S3Client } from '@aws-sdk/client-s3';
import { compactVerify, importJWK } from 'jose';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Config, loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { joseToDerSignature } from '../../src/kms/ecdsa';
import { createKmsClient } from '../../src/kms/kms';
import { kmsPublicKey } from '../../src/kms/jws';
import { parseNote } from '../../src/receipts/signed-note';
import { ReceiptContent } from '../../src/receipts/receipt.types';
import { ReceiptsBucket } from '../../src/receipts/receipts.bucket';
import { exportReceipts } from '../../src/receipts/receipts-export';
import { ReceiptsService } from '../../src/receipts/receipts.service';
import { hashSubject } from '../../src/receipts/subject-hash';
import { verifyPath } from '../../src/receipts/verify/verify.command';
import { createS3Client } from '../../src/s3/s3';
import { createScratchDatabase, ScratchDatabase } from '../helpers/db';

let db: ScratchDatabase;
let pool: Pool;
let config: Config;
let kms: KMSClient;
let s3: S3Client;
let service: ReceiptsService;
let work: string;
let prefix: string;

/** A request row: receipts reference the catalog's requests. */
async function newRequest(tenantId: string): Promise<string> {
  const id = randomUUID();
  await pool.query(`INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by, params) VALUES ($1, 'erasure', $2, $3, 'test', jsonb_build_object('subjectHash', $3::text))`,
    [id, tenantId, `erasure:${tenantId}:${id}`]);
  return id;
}

function content(requestId: string, tenantId: string): ReceiptContent {
  const at = new Date().toISOString();
  return {
    requestId, kind: 'erasure', tenantId,
    scope: { type: 'subject', subjectHashes: [hashSubject(config.JWT_SECRET, tenantId, `user-${requestId}`)] },
    policy: { reason: 'data subject request', legalBasis: 'GDPR Art. 17(1)(a)' },
    requestedBy: { role: 'operator', subject: 'local-operator' },
    tables: [{ table: 'users', method: 'delete', rows: 1 }, { table: 'invoices', method: 'anonymize', rows: 2, columns: [{ column: 'billing_email', strategy: 'hash' }] }],
    timestamps: { requestedAt: at, startedAt: at, completedAt: at },
    verification: { method: 'row-count-in-fresh-snapshot', result: 'passed', snapshot: '100:100:', checkedAt: at, tables: [{ table: 'users', rowsRemaining: 0 }] },
    remains: [{ what: 'dead-tuples', status: 'expires', until: 'next VACUUM of each table' }, { what: 'exports', status: 'shredded', until: null, objects: 0 }],
    notCovered: [], legalHolds: [], workflow: { id: `erasure:${tenantId}:${requestId}` },
  };
}

beforeAll(async () => {
  db = await createScratchDatabase('receipts');
  await migrate(db.adminUrl);
  pool = createPool(db.adminUrl, 12);
  config = loadConfig();
  kms = createKmsClient(config);
  s3 = createS3Client(config);
  prefix = `test/${db.name}/`;
  service = ReceiptsService.fromConfig(config, { pool, kms, s3 }, { origin: `compliance-ops.test/${db.name}`, bucketPrefix: prefix });
  work = await mkdtemp(join(tmpdir(), 'receipts-it-'));
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  kms?.destroy();
  s3?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('issuing receipts', () => {
  it('gives receipts issued concurrently gapless log indexes and an intact chain', async () => {
    const requests = await Promise.all(Array.from({ length: 24 }, (_, i) => newRequest(`tenant-${i % 4}`)));
    const issued = await Promise.all(requests.map((id, i) => service.issue(content(id, `tenant-${i % 4}`))));
    expect(issued.map((r) => r.logIndex).sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    const folder = join(work, 'pack');
    const summary = await exportReceipts(service, folder);
    expect(summary.receipts).toBeGreaterThanOrEqual(24);
    // Only the public keys, given out of band: here straight from KMS as PEM, as `aws kms get-public-key` would.
    const pems = await Promise.all([config.KMS_RECEIPT_KEY_ARN, config.KMS_CHECKPOINT_KEY_ARN].map(async (arn, i) => {
      const path = join(work, `key-${i}.pem`);
      await writeFile(path, (await kmsPublicKey(kms, arn)).export({ type: 'spki', format: 'pem' }));
      return path;
    }));
    const report = await verifyPath(folder, { publicKey: pems });
    expect(report.summary).toMatch(/^valid: \d+ receipts \(log indexes 0–\d+\), chain intact, signed by .*; included in checkpoint compliance-ops\.test\//);
  });

  it('answers a repeated issue for the same request and tenant with the first receipt', async () => {
    const requestId = await newRequest('tenant-again');
    const [first, again] = await Promise.all([service.issue(content(requestId, 'tenant-again')), service.issue(content(requestId, 'tenant-again'))]);
    expect(again).toEqual(first);
    expect(await service.issue(content(requestId, 'tenant-again'))).toEqual(first);
    // A retention run is one request over many tenants: one receipt each.
    const other = await service.issue(content(requestId, 'tenant-also-purged'));
    expect(other.receiptId).not.toBe(first.receiptId);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM receipts WHERE request_id = $1', [requestId]);
    expect(rows[0].n).toBe(2);
    expect((await service.byRequest(requestId, 'tenant-again'))?.receiptId).toBe(first.receiptId);
  });

  it('keeps the receipts and checkpoints tables append-only', async () => {
    await expect(pool.query(`UPDATE receipts SET tenant_id = 'x'`)).rejects.toThrow(/receipts is append-only/);
    await expect(pool.query('DELETE FROM receipts')).rejects.toThrow(/receipts is append-only/);
    await expect(pool.query('TRUNCATE receipts CASCADE')).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM checkpoints')).rejects.toThrow(/checkpoints is append-only/);
  });

  it('writes receipt, checkpoint and keys to the receipts bucket under Object Lock', async () => {
    const requestId = await newRequest('tenant-bucket');
    const issued = await service.issue(content(requestId, 'tenant-bucket'));
    const bucket = new ReceiptsBucket(s3, config.S3_RECEIPTS_BUCKET, prefix);
    const key = bucket.receiptKey('tenant-bucket', issued.receiptId);
    expect(await bucket.read(key)).toBe(issued.jws);
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: config.S3_RECEIPTS_BUCKET, Key: key }));
    expect(retention.Retention?.Mode).toMatch(/GOVERNANCE|COMPLIANCE/);
    const checkpoint = await service.log.latestCheckpoint();
    expect(await bucket.read(bucket.checkpointKey(checkpoint.size))).toBe(checkpoint.note);
    const jwks = JSON.parse((await bucket.read(bucket.jwksKey))!) as unknown;
    expect(jwks).toEqual(await service.jwks());
    const object = await s3.send(new GetObjectCommand({ Bucket: config.S3_RECEIPTS_BUCKET, Key: key }));
    expect(object.ContentType).toBe('application/jose');
  });
});

describe('checking a KMS-signed receipt with standard tools', () => {
  it('verifies with jose compactVerify and the published JWK', async () => {
    const issued = await service.issue(content(await newRequest('tenant-jose'), 'tenant-jose'));
    const jwk = (await service.jwks()).keys.find((k) => k.purpose === 'receipts')!;
    const { protectedHeader, payload } = await compactVerify(issued.jws, await importJWK(jwk, 'ES256'), { algorithms: ['ES256'] });
    expect(protectedHeader.kid).toBe(jwk.kid);
    expect(JSON.parse(Buffer.from(payload).toString('utf8'))).toMatchObject({ receiptId: issued.receiptId, log: { index: issued.logIndex } });
  });

  it('verifies the receipt and the checkpoint signatures with openssl dgst', async () => {
    const issued = await service.issue(content(await newRequest('tenant-openssl'), 'tenant-openssl'));
    const [header, payload, signature] = issued.jws.split('.');
    const files = { pub: join(work, 'pub.pem'), input: join(work, 'signing_input.bin'), sig: join(work, 'sig.der') };
    await writeFile(files.pub, (await kmsPublicKey(kms, config.KMS_RECEIPT_KEY_ARN)).export({ type: 'spki', format: 'pem' }));
    await writeFile(files.input, `${header}.${payload}`);
    await writeFile(files.sig, joseToDerSignature(Buffer.from(signature, 'base64url')));
    const openssl = () => spawnSync('openssl', ['dgst', '-sha256', '-verify', files.pub, '-signature', files.sig, files.input], { encoding: 'utf8' });
    expect(openssl().stdout.trim()).toBe('Verified OK');
    await writeFile(files.input, `${header}.${payload}x`);
    expect(openssl().status).not.toBe(0);

    // The checkpoint: note text, and its signature minus the 4-byte key ID, which is DER already.
    const { text, signatures } = parseNote((await service.log.latestCheckpoint()).note);
    await writeFile(files.pub, (await kmsPublicKey(kms, config.KMS_CHECKPOINT_KEY_ARN)).export({ type: 'spki', format: 'pem' }));
    await writeFile(files.input, text);
    await writeFile(files.sig, signatures[0].signature);
    expect(openssl().stdout.trim()).toBe('Verified OK');
  });
});

describe('transparency proofs from the service', () => {
  it('serves an inclusion proof bundle and a consistency proof that verify offline', async () => {
    const old = await service.log.latestCheckpoint();
    const issued = await service.issue(content(await newRequest('tenant-proof'), 'tenant-proof'));
    const proof = await service.proof(issued.receiptId);
    const files = { jws: join(work, 'one.jws'), proof: join(work, 'one.tlog-proof'), old: join(work, 'old.note'), checkpoint: join(work, 'new.note'), consistency: join(work, 'consistency.json'), jwks: join(work, 'jwks.json') };
    await writeFile(files.jws, proof.jws);
    await writeFile(files.proof, proof.tlogProof);
    await writeFile(files.jwks, JSON.stringify(await service.jwks()));
    const report = await verifyPath(files.jws, { publicKey: [files.jwks], proof: files.proof });
    expect(report.summary).toContain(`1 receipt (log index ${issued.logIndex})`);

    await writeFile(files.old, old.note);
    await writeFile(files.checkpoint, proof.checkpoint);
    const consistency = await service.log.consistencyProof(old.size);
    expect(consistency.fromCheckpoint).toBe(old.note);
    await writeFile(files.consistency, JSON.stringify(consistency));
    const pack = join(work, 'suffix');
    await rm(pack, { recursive: true, force: true });
    await mkdir(pack, { recursive: true });
    await writeFile(join(pack, 'r.jws'), proof.jws);
    await writeFile(join(pack, 'r.tlog-proof'), proof.tlogProof);
    const consistent = await verifyPath(pack, { publicKey: [files.jwks], checkpoint: files.checkpoint, oldCheckpoint: files.old, proof: files.consistency });
    expect(consistent.summary).toMatch(new RegExp(`consistent with the older checkpoint of size ${old.size}$`));
    expect(await readFile(files.proof, 'utf8')).toMatch(/^c2sp\.org\/tlog-proof@v1\nindex \d+\n/);
  });
});
