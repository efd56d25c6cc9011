import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Global, INestApplication, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/auth/principal';
import { mintToken } from '../../src/auth/tokens';
import { Config, loadConfig } from '../../src/config';
import { CatalogDatabase } from '../../src/db/databases';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { AuthGuard } from '../../src/http/auth.guard';
import { ErrorFilter } from '../../src/http/error.filter';
import { createKmsClient } from '../../src/kms/kms';
import { parseCheckpointText } from '../../src/receipts/checkpoint';
import { verifyConsistency } from '../../src/receipts/merkle-verify';
import { ReceiptsController } from '../../src/receipts/receipts.controller';
import { ReceiptsModule } from '../../src/receipts/receipts.module';
import { ReceiptsService } from '../../src/receipts/receipts.service';
import { TransparencyController } from '../../src/receipts/transparency.controller';
import { createS3Client } from '../../src/s3/s3';
import { createScratchDatabase, ScratchDatabase } from '../helpers/db';

let db: ScratchDatabase;
let pool: Pool;
let config: Config;
let kms: KMSClient;
let s3: S3Client;
let service: ReceiptsService;
let app: INestApplication;
let url: string;
const issued: Array<{ receiptId: string; tenantId: string }> = [];

const token = (role: Role, tenantId?: string) =>
  mintToken({ secret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER }, { role, tenantId });

async function get(path: string, role?: Role, tenantId?: string): Promise<{ status: number; body: unknown; type: string | null }> {
  const headers: Record<string, string> = role ? { authorization: `Bearer ${await token(role, tenantId)}` } : {};
  const response = await fetch(`${url}${path}`, { headers });
  const type = response.headers.get('content-type');
  return { status: response.status, type, body: type?.includes('json') ? await response.json() : await response.text() };
}

function content(requestId: string, tenantId: string) {
  const at = new Date().toISOString();
  return {
    requestId, kind: 'erasure' as const, tenantId, scope: { type: 'tenant' as const }, policy: { reason: 'off-boarding' },
    requestedBy: { role: 'operator', subject: 'local-operator' }, tables: [{ table: 'users', method: 'delete' as const, rows: 3 }],
    timestamps: { requestedAt: at, startedAt: at, completedAt: at },
    verification: { method: 'row-count-in-fresh-snapshot', result: 'passed' as const, snapshot: '1:1:', checkedAt: at, tables: [] },
    remains: [], notCovered: [], legalHolds: [], workflow: { id: `erasure:${tenantId}:${requestId}` },
  };
}

beforeAll(async () => {
  db = await createScratchDatabase('receipts_api');
  await migrate(db.adminUrl);
  pool = createPool(db.adminUrl, 4);
  config = loadConfig();
  kms = createKmsClient(config);
  s3 = createS3Client(config);
  service = ReceiptsService.fromConfig(config, { pool, kms, s3 }, { origin: `compliance-ops.test/${db.name}`, bucketPrefix: `test/${db.name}/` });
  for (const tenantId of ['tenant-a', 'tenant-b', 'tenant-a']) {
    const id = randomUUID();
    await pool.query(`INSERT INTO requests (id, kind, tenant_id, workflow_id, requested_by, params) VALUES ($1, 'erasure', $2, $3, 'test', jsonb_build_object('subjectHash', $3::text))`, [id, tenantId, `w-${id}`]);
    issued.push({ receiptId: (await service.issue(content(id, tenantId))).receiptId, tenantId });
  }

  @Module({ controllers: [ReceiptsController, TransparencyController], providers: [
    { provide: Config, useValue: config }, { provide: ReceiptsService, useValue: service },
    // The guard looks API keys up in the catalog.
    { provide: CatalogDatabase, useValue: new CatalogDatabase(pool) },
    { provide: APP_GUARD, useClass: AuthGuard }, { provide: APP_FILTER, useClass: ErrorFilter },
  ] })
  class ReceiptsApiTestModule {}
  app = await NestFactory.create(ReceiptsApiTestModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
  kms?.destroy();
  s3?.destroy();
});

describe('receipts API', () => {
  it('serves the JWKS without a token', async () => {
    const { status, body } = await get('/.well-known/jwks.json');
    expect(status).toBe(200);
    expect((body as { keys: Array<{ purpose: string; alg: string }> }).keys.map((k) => [k.purpose, k.alg])).toEqual([['receipts', 'ES256'], ['checkpoints', 'ES256']]);
  });

  it('lets operators and auditors read any receipt, a tenant admin only its own', async () => {
    const [a, b] = issued;
    for (const role of ['operator', 'auditor'] as const) {
      const { status, body } = await get(`/v1/receipts/${b.receiptId}`, role);
      expect(status).toBe(200);
      expect(body).toMatchObject({ receiptId: b.receiptId, tenantId: 'tenant-b', logIndex: 1, receipt: { log: { index: 1 } } });
    }
    expect((await get(`/v1/receipts/${a.receiptId}`, 'tenant-admin', 'tenant-a')).status).toBe(200);
    expect(await get(`/v1/receipts/${b.receiptId}`, 'tenant-admin', 'tenant-a')).toMatchObject({ status: 404, body: { code: 'receipt_not_found' } });
    expect(await get('/v1/receipts/not-a-uuid', 'auditor')).toMatchObject({ status: 400, body: { code: 'invalid_receipt_id' } });
    expect((await get(`/v1/receipts/${a.receiptId}`)).status).toBe(401);
  });

  it('lists receipts in log order, by tenant, fenced for tenant admins', async () => {
    const all = await get('/v1/receipts?limit=2', 'auditor');
    expect(all.body).toMatchObject({ items: [{ logIndex: 0 }, { logIndex: 1 }], next: 1 });
    const mine = await get('/v1/receipts?tenantId=tenant-b', 'tenant-admin', 'tenant-a');
    expect((mine.body as { items: Array<{ tenantId: string }> }).items.map((r) => r.tenantId)).toEqual(['tenant-a', 'tenant-a']);
    expect((await get('/v1/receipts?limit=0', 'operator')).status).toBe(400);
  });

  it('serves checkpoint, proof and consistency to operators and auditors only', async () => {
    const checkpoint = await get('/v1/transparency/checkpoint', 'auditor');
    expect(checkpoint.type).toMatch(/^text\/plain/);
    expect(String(checkpoint.body)).toMatch(new RegExp(`^compliance-ops\\.test/${db.name}\\n3\\n[A-Za-z0-9+/]{43}=\\n\\n\u2014 `));
    const proof = await get(`/v1/transparency/proof/${issued[2].receiptId}`, 'auditor');
    expect(proof.body).toMatchObject({ receiptId: issued[2].receiptId, index: 2 });
    expect((proof.body as { tlogProof: string }).tlogProof).toMatch(/^c2sp\.org\/tlog-proof@v1\nindex 2\n/);
    const consistency = await get('/v1/transparency/consistency?from=1&to=3', 'operator');
    const { from, to, proof: hashes, fromCheckpoint, toCheckpoint } = consistency.body as
      { from: number; to: number; proof: string[]; fromCheckpoint: string; toCheckpoint: string };
    // Every issue signed a checkpoint, so both sizes have one; the proof links their roots.
    const [older, newer] = [fromCheckpoint, toCheckpoint].map((note) => parseCheckpointText(`${note.split('\n\n')[0]}\n`));
    expect([older.size, newer.size]).toEqual([from, to]);
    verifyConsistency(from, to, older.rootHash, newer.rootHash, hashes.map((h) => Buffer.from(h, 'base64')));
    expect((await get('/v1/transparency/checkpoint', 'tenant-admin', 'tenant-a')).status).toBe(403);
    expect(await get('/v1/transparency/consistency?from=2&to=99', 'operator')).toMatchObject({ status: 400, body: { code: 'tree_size_too_large' } });
    expect((await get(`/v1/transparency/proof/${randomUUID()}`, 'auditor')).status).toBe(404);
  });

  it('wires the service from the global infrastructure providers', async () => {
    @Global()
    @Module({
      providers: [{ provide: Config, useValue: config }, { provide: CatalogDatabase, useValue: new CatalogDatabase(pool) },
        { provide: KMSClient, useValue: kms }, { provide: S3Client, useValue: s3 }],
      exports: [Config, CatalogDatabase, KMSClient, S3Client],
    })
    class InfrastructureStub {}
    @Module({ imports: [InfrastructureStub, ReceiptsModule] })
    class WiringModule {}
    const context = await NestFactory.createApplicationContext(WiringModule, { logger: false });
    try {
      expect((await context.get(ReceiptsService).jwks()).keys).toHaveLength(2);
    } finally {
      await context.close();
    }
  });
});
