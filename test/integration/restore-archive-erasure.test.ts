import { Client, escapeIdentifier as q } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { exportsPrefixOfTenant } from '../../src/export/layout';
import { RequestView } from '../../src/requests/request.types';
import { snapshotsPrefixOfTenant, walPrefixOfTenant } from '../../src/restore/archive-layout';
import { deletePrefix, listKeys } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { ApiResponse } from '../helpers/api';
import { ServiceArchiver, startServiceArchiver } from '../helpers/pitr-service';
import { startTestService, TestService } from '../helpers/service';

type Remainder = { what: string; status: string; until: string | null; objects?: number; reason?: string };

describe('the restore archive when a tenant or a subject is erased', () => {
  const config = loadConfig();
  const s3 = createS3Client(config);
  let service: TestService;
  let admin: Client;
  let catalog: Client;
  let operator: string;
  let archive: ServiceArchiver;

  beforeAll(async () => {
    service = await startTestService('restore_shred', { seed: 1037, tenants: 3, rowsPerTenant: 80 });
    operator = await service.api.token('operator');
    admin = new Client({ connectionString: service.app.adminUrl });
    catalog = new Client({ connectionString: service.catalog.adminUrl });
    await Promise.all([admin.connect(), catalog.connect()]);
    archive = await startServiceArchiver(service, config, s3);
  }, 180_000);

  afterAll(async () => {
    await archive?.close();
    for (const t of service?.demo.tenants ?? []) await deletePrefix(s3, config.S3_EXPORT_BUCKET, exportsPrefixOfTenant(t.id)).catch(() => undefined);
    s3.destroy();
    await Promise.all([admin?.end(), catalog?.end()]);
    await service?.close();
  });

  const call = (method: string, path: string, body?: unknown) => service.api.call(operator, method, path, body);

  async function succeeded(created: ApiResponse): Promise<RequestView> {
    expect(created.status).toBe(202);
    const done = await service.api.finished(operator, created.body.id as string);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    return done;
  }

  const receiptRemains = async (receiptId: string) => {
    const { body } = await call('GET', `/v1/receipts/${receiptId}`);
    const payload = JSON.parse(Buffer.from((body.jws as string).split('.')[1], 'base64url').toString()) as { remains: Remainder[] };
    return payload.remains;
  };

  const objects = (prefix: string) => listKeys(s3, config.S3_EXPORT_BUCKET, prefix);
  const catalogRows = async (tenantId: string) => {
    const { rows } = await catalog.query<{ snapshots: number; segments: number }>(
      `SELECT (SELECT count(*)::int FROM restore_snapshots WHERE tenant_id = $1) AS snapshots,
              (SELECT count(*)::int FROM wal_segments WHERE tenant_id = $1) AS segments`, [tenantId]);
    return rows[0];
  };

  /** A staging restore of the tenant as it is now, through the API: its schema. */
  async function stagedSchema(tenantId: string): Promise<string> {
    const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const done = await succeeded(await call('POST', `/v1/tenants/${tenantId}/restores`, { target: { lsn: rows[0].lsn }, mode: 'staging' }));
    return (done.result as { schema: string }).schema;
  }
  const schemaExists = async (schema: string) => (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;
  const stagedEmails = async (schema: string, tenantId: string) =>
    (await admin.query<{ email: string }>(`SELECT email FROM ${q(schema)}.users WHERE tenant_id = $1`, [tenantId])).rows.map((r) => r.email);

  /** A snapshot through the API, then a change of every kind, archived. */
  async function archiveOf(tenantId: string): Promise<void> {
    await succeeded(await call('POST', `/v1/tenants/${tenantId}/snapshots`, {}));
    await admin.query(`INSERT INTO audit_events (tenant_id, action) VALUES ($1, 'archived')`, [tenantId]);
    await admin.query(`UPDATE users SET full_name = full_name || ' (archived)' WHERE tenant_id = $1 AND id = (SELECT min(id) FROM users WHERE tenant_id = $1)`, [tenantId]);
    await archive.archiver.archiveOnce();
  }

  it('a tenant erasure shreds its snapshots and WAL segments, objects and index rows, and its receipt says so', async () => {
    const [, erased, kept] = service.demo.tenants.map((t) => t.id);
    await archiveOf(erased);
    await archiveOf(kept);
    const snapshotObjects = (await objects(snapshotsPrefixOfTenant(erased))).length;
    const segmentObjects = (await objects(walPrefixOfTenant(erased))).length;
    expect(snapshotObjects).toBeGreaterThan(2);
    expect(segmentObjects).toBeGreaterThan(0);
    const keptBefore = { rows: await catalogRows(kept), snapshots: await objects(snapshotsPrefixOfTenant(kept)), wal: await objects(walPrefixOfTenant(kept)) };
    const staged = await stagedSchema(erased);

    const done = await succeeded(await call('POST', `/v1/tenants/${erased}/erasures`, { reason: 'customer off-boarding, archive test' }));

    // The staging restore was a copy of the tenant: dropped, and the receipt says so.
    expect(await schemaExists(staged)).toBe(false);
    expect(await receiptRemains(done.receiptId!)).toEqual(expect.arrayContaining([
      expect.objectContaining({ what: 'restore-staging', status: 'shredded', objects: 1 }),
    ]));

    expect(await objects(snapshotsPrefixOfTenant(erased))).toEqual([]);
    expect(await objects(walPrefixOfTenant(erased))).toEqual([]);
    expect(await catalogRows(erased)).toEqual({ snapshots: 0, segments: 0 });
    expect(done.result).toMatchObject({ archiveShredded: { snapshots: 1, snapshotObjects, segmentObjects } });
    const remains = await receiptRemains(done.receiptId!);
    expect(remains).toEqual(expect.arrayContaining([
      { what: 'snapshots', status: 'shredded', until: null, objects: snapshotObjects },
      { what: 'wal-archive', status: 'shredded', until: null, objects: segmentObjects },
    ]));
    // The other tenant's archive is untouched.
    expect(await catalogRows(kept)).toEqual(keptBefore.rows);
    expect(await objects(snapshotsPrefixOfTenant(kept))).toEqual(keptBefore.snapshots);
    expect(await objects(walPrefixOfTenant(kept))).toEqual(keptBefore.wal);
  }, 180_000);

  it('a subject erasure keeps the archive, its receipt says restores erase the subject again, and one does', async () => {
    const tenantId = service.demo.tenants[2].id;
    const { rows: users } = await admin.query<{ email: string }>('SELECT email FROM users WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1', [tenantId]);
    const email = users[0].email;
    const usersBefore = Number((await admin.query('SELECT count(*) AS n FROM users WHERE tenant_id = $1', [tenantId])).rows[0].n);
    const { rows: lsn } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const archiveBefore = await catalogRows(tenantId);
    const stagedBefore = await stagedSchema(tenantId);
    expect(await stagedEmails(stagedBefore, tenantId)).toContain(email);

    const done = await succeeded(await call('POST', `/v1/tenants/${tenantId}/erasures`, { reason: 'Art. 17 request, archive test', subject: { column: 'email', value: email } }));

    // A staging restore taken before the erasure no longer holds the subject either.
    expect(await stagedEmails(stagedBefore, tenantId)).not.toContain(email);
    expect((await stagedEmails(stagedBefore, tenantId)).length).toBe(usersBefore - 1);

    expect(await catalogRows(tenantId)).toEqual(archiveBefore);
    expect((await objects(snapshotsPrefixOfTenant(tenantId))).length).toBeGreaterThan(2);
    const remains = await receiptRemains(done.receiptId!);
    expect(remains.find((r) => r.what === 'restore-staging')).toMatchObject({ status: 'shredded', objects: 1, reason: expect.stringContaining('erased again') });
    for (const what of ['snapshots', 'wal-archive']) {
      expect(remains.find((r) => r.what === what)).toMatchObject({
        status: 'expires', until: expect.stringContaining(`PITR window (${config.PITR_WINDOW})`), reason: expect.stringContaining('erases the subject again'),
      });
    }

    // Back to before the erasure: the subject was there then, and still does not come back.
    const restore = await succeeded(await call('POST', `/v1/tenants/${tenantId}/restores`, { target: { lsn: lsn[0].lsn }, mode: 'staging' }));
    const schema = (restore.result as { schema: string; erasedSubjects: number }).schema;
    expect(restore.result).toMatchObject({ erasedSubjects: 1 });
    const staged = await admin.query<{ email: string }>(`SELECT email FROM ${q(schema)}.users WHERE tenant_id = $1`, [tenantId]);
    expect(staged.rows.map((r) => r.email)).not.toContain(email);
    expect(staged.rows.length).toBe(usersBefore - 1);
  }, 180_000);
});
