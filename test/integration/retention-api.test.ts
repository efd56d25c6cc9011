import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planTenants } from '../../src/demo/tenant-plan';
import { RequestView } from '../../src/requests/request.types';
import type { RetentionRunResult, TenantOutcome } from '../../src/retention/retention.types';
import { cliChild } from '../helpers/cli';
import { startTestService, TestService } from '../helpers/service';

const SHAPE = { seed: 23, tenants: 5, rowsPerTenant: 300 };
const PLAN = planTenants(SHAPE);
const HELD = PLAN[1].id;
const LONGER = PLAN[2].id;
/** Named by a policy, absent from the tenants table. */
const GONE = '00000000-0000-4000-8000-00000000dead';
const OTHER_TABLES = ['tenants', 'plans', 'users', 'projects', 'documents', 'comments', 'invoices'];

/** audit_events older than 365 days go (500 for one tenant by contract); the tier policy only counts. */
const POLICIES = `tierColumn: tier
policies:
  audit-old:
    table: audit_events
    maxAgeDays: 365
    schedule: "0 0 1 1 *"
    catchUp: none
    batch: { maxRows: 25 }
    overrides:
      "${LONGER}": { maxAgeDays: 500, reason: contract with longer retention }
  audit-enterprise:
    table: audit_events
    ageColumn: occurred_at
    maxAgeDays: 30
    tenants: { tiers: [enterprise] }
    schedule: "0 0 1 1 *"
    catchUp: none
  audit-listed:
    table: audit_events
    tenants: { ids: ["${PLAN[3].id}", "${GONE}"] }
    schedule: "0 0 1 1 *"
    catchUp: none
`;

describe('retention purges through the API, Temporal, receipts and the transparency log', () => {
  let service: TestService;
  let operator: string;
  let admin: Client;
  let dryRun: RetentionRunResult;
  let run: RequestView;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'retention-'));
    writeFileSync(join(dir, 'retention.yaml'), POLICIES);
    process.env.RETENTION_CONFIG = join(dir, 'retention.yaml');
    service = await startTestService('retention_api', SHAPE);
    operator = await service.api.token('operator');
    admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    // Events at noon: no row sits within seconds of a cutoff measured from now, so a dry run and the run after it see the same rows.
    await admin.query(`UPDATE audit_events SET occurred_at = date_trunc('day', occurred_at) + interval '12 hours'`);
  });
  afterAll(async () => {
    delete process.env.RETENTION_CONFIG;
    await admin?.end();
    await service?.close();
  });

  const call = (method: string, path: string, body?: unknown, token = operator) => service.api.call(token, method, path, body);
  const finished = (id: string) => service.api.finished(operator, id);

  const fingerprint = async (table: string, where = 'true', params: unknown[] = []) =>
    (await admin.query(`SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM ${table} t WHERE ${where}`, params)).rows[0] as { n: string; h: string };
  /** One client runs one query at a time: fingerprints are taken in turn. */
  const fingerprints = async (tables: string[]) => {
    const all = [];
    for (const table of tables) all.push(await fingerprint(table));
    return all;
  };
  const everything = () => fingerprints([...OTHER_TABLES, 'audit_events']);
  const olderThan = async (tenantId: string, cutoff: string) =>
    Number((await fingerprint('audit_events', 'tenant_id = $1 AND occurred_at < $2', [tenantId, cutoff])).n);
  const byTenant = (result: RetentionRunResult) => new Map<string, TenantOutcome>(result.tenants.map((t) => [t.tenantId, t]));

  it('lists the policies, with defaults from the data map and the next run', async () => {
    const { status, body } = await call('GET', '/v1/retention-policies', undefined, await service.api.token('auditor'));
    expect(status).toBe(200);
    const items = body.items as Array<Record<string, unknown>>;
    expect(items.map((p) => p.name)).toEqual(['audit-enterprise', 'audit-listed', 'audit-old']);
    expect(items[2]).toMatchObject({ table: 'public.audit_events', ageColumn: 'occurred_at', maxAgeDays: 365, nextRunAt: expect.stringMatching(/-01-01T00:00:00\.000Z$/) });
  });

  it('a dry run reports per tenant the rows that would go, skips a tenant on legal hold, and changes nothing', async () => {
    expect((await call('PUT', `/v1/tenants/${HELD}/legal-hold`, { reason: 'litigation hold 2026-44' })).status).toBe(200);
    const before = await everything();
    const receiptsBefore = ((await call('GET', '/v1/receipts')).body.items as unknown[]).length;
    const created = await call('POST', '/v1/retention-policies/audit-old/run', { dryRun: true });
    expect(created.status).toBe(202);
    const done = await finished(created.body.id as string);
    expect(done).toMatchObject({ kind: 'retention', tenantId: null, status: 'succeeded', progress: { percent: 100, tenantsDone: 5, tenantsTotal: 5 } });
    dryRun = done.result as unknown as RetentionRunResult;
    expect(dryRun.skipped).toEqual([{ tenantId: HELD, reason: 'legal_hold', detail: 'litigation hold 2026-44' }]);
    for (const t of dryRun.tenants.filter((o) => o.tenantId !== HELD)) {
      expect(t).toMatchObject({ status: 'counted', maxAgeDays: t.tenantId === LONGER ? 500 : 365 });
      expect(t.rows).toBe(await olderThan(t.tenantId, t.cutoff));
      expect(t.rows).toBeGreaterThan(0);
    }
    expect(await everything()).toEqual(before);
    expect(((await call('GET', '/v1/receipts')).body.items as unknown[]).length).toBe(receiptsBefore);
  });

  it('a run deletes exactly the rows past each tenant’s cutoff, as many as the dry run counted; the held tenant keeps everything', async () => {
    const others = await fingerprints(OTHER_TABLES);
    const held = await fingerprint('audit_events', 'tenant_id = $1', [HELD]);
    const cutoffs = byTenant(dryRun);
    const kept = new Map<string, { n: string; h: string }>();
    for (const [tenantId, t] of cutoffs) kept.set(tenantId, await fingerprint('audit_events', 'tenant_id = $1 AND occurred_at >= $2', [tenantId, t.cutoff]));

    const created = await call('POST', '/v1/retention-policies/audit-old/run', {});
    run = await finished(created.body.id as string);
    expect(run.status).toBe('succeeded');
    const result = run.result as unknown as RetentionRunResult;
    expect(result.skipped.map((s) => s.tenantId)).toEqual([HELD]);
    expect(result.receiptIds).toHaveLength(4);
    for (const t of result.tenants.filter((o) => o.tenantId !== HELD)) {
      const counted = cutoffs.get(t.tenantId)!;
      expect(t).toMatchObject({ status: 'purged', rows: counted.rows, receiptId: expect.any(String) });
      // Cutoffs move with the clock between the two runs; no row lies near them (all at noon).
      expect(await olderThan(t.tenantId, t.cutoff)).toBe(0);
      expect(await fingerprint('audit_events', 'tenant_id = $1', [t.tenantId])).toEqual(kept.get(t.tenantId));
    }
    expect(await fingerprint('audit_events', 'tenant_id = $1', [HELD])).toEqual(held);
    expect(await fingerprints(OTHER_TABLES)).toEqual(others);
  });

  it('lists runs by policy and by tenant, skipped tenants included', async () => {
    const byPolicy = (await call('GET', '/v1/retention-runs?policy=audit-old')).body.items as RequestView[];
    expect(byPolicy.map((r) => r.id)).toContain(run.id);
    const byHeld = (await call('GET', `/v1/retention-runs?tenantId=${HELD.toUpperCase()}`)).body.items as RequestView[];
    expect(byHeld.map((r) => r.id)).toContain(run.id);
    expect((await call('GET', '/v1/retention-runs?policy=audit-enterprise')).body.items).toEqual([]);
    expect((await call('GET', '/v1/retention-runs?limit=0')).status).toBe(400);
  });

  it('issues receipts that verify offline with compliance-ops verify, in the same log as erasure receipts', async () => {
    const result = run.result as unknown as RetentionRunResult;
    const purged = result.tenants.find((t) => t.status === 'purged' && t.tenantId !== LONGER)!;
    const erasure = await call('POST', `/v1/tenants/${PLAN[4].id}/erasures`, { reason: 'customer off-boarding' });
    const erased = await finished(erasure.body.id as string);
    expect(erased.status).toBe('succeeded');

    const jwks = await fetch(`${service.api.url}/.well-known/jwks.json`).then((r) => r.json());
    const dir = mkdtempSync(join(tmpdir(), 'retention-receipt-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    const checkpoints = new Set<string>();
    for (const receiptId of [purged.receiptId!, erased.receiptId!]) {
      const receipt = await call('GET', `/v1/receipts/${receiptId}`);
      const proof = await call('GET', `/v1/transparency/proof/${receiptId}`);
      checkpoints.add(proof.body.checkpoint as string);
      writeFileSync(join(dir, `${receiptId}.jws`), receipt.body.jws as string);
      writeFileSync(join(dir, `${receiptId}.tlog-proof`), proof.body.tlogProof as string);
      const verified = await cliChild(['verify', join(dir, `${receiptId}.jws`), '--public-key', join(dir, 'jwks.json'), '--proof', join(dir, `${receiptId}.tlog-proof`)]);
      expect(verified.stdout + verified.stderr).not.toMatch(/invalid/);
      expect(verified.status).toBe(0);
    }
    // One checkpoint proves both: one tree, retention and erasure leaves side by side.
    expect(checkpoints.size).toBe(1);

    const receipt = (await call('GET', `/v1/receipts/${purged.receiptId}`)).body.receipt as Record<string, unknown>;
    expect(receipt).toMatchObject({
      kind: 'retention', requestId: run.id, tenantId: purged.tenantId, policy: { retentionPolicy: 'audit-old' },
      tables: [{ table: 'public.audit_events', method: 'delete', rows: purged.rows }], verification: { result: 'passed' },
    });
    expect((receipt.remains as Array<{ what: string; status: string }>).find((r) => r.what === 'exports')?.status).toBe('retained');
    expect(purged.logIndex).toBeLessThan(((await call('GET', `/v1/receipts/${erased.receiptId}`)).body.logIndex as number));
  });

  it('a policy filtered by tier covers only tenants of that tier', async () => {
    const created = await call('POST', '/v1/retention-policies/audit-enterprise/run', { dryRun: true });
    const result = (await finished(created.body.id as string)).result as unknown as RetentionRunResult;
    const enterprise = PLAN.filter((t) => t.tier === 'enterprise' && t.id !== PLAN[4].id).map((t) => t.id).sort();
    expect(result.tenants.map((t) => t.tenantId)).toEqual(enterprise);
  });

  it('a policy listing tenant ids covers those, and reports an id the tenants table does not have', async () => {
    const created = await call('POST', '/v1/retention-policies/audit-listed/run', { dryRun: true });
    const result = (await finished(created.body.id as string)).result as unknown as RetentionRunResult;
    expect(result.tenants.map((t) => [t.tenantId, t.status, t.maxAgeDays])).toEqual([[PLAN[3].id, 'counted', 365]]);
    expect(result.skipped).toEqual([{ tenantId: GONE, reason: 'tenant_not_found', detail: expect.any(String) }]);
  });

  it('the CLI lists policies and runs a dry run to the end', async () => {
    const env = { COMPLIANCE_OPS_API_URL: service.api.url };
    const list = await cliChild(['retention', 'list'], env);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^audit-old: delete public\.audit_events rows with occurred_at older than 365 days \(all tenants, 1 override\(s\)\)/m);
    const dry = await cliChild(['retention', 'run', 'audit-old', '--dry-run', '--wait'], env);
    expect(dry.stderr).not.toMatch(/failed/);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/row\(s\) would go/);
    expect(dry.stdout).toContain(`${HELD}  skipped  legal_hold: litigation hold 2026-44`);
  });

  it('refuses an unknown policy, a bad body, and a run by an auditor', async () => {
    expect((await call('POST', '/v1/retention-policies/nope/run', {})).body.code).toBe('retention_policy_not_found');
    expect((await call('POST', '/v1/retention-policies/audit-old/run', { dryRun: 'yes' })).status).toBe(400);
    expect((await call('POST', '/v1/retention-policies/audit-old/run', {}, await service.api.token('auditor'))).status).toBe(403);
  });
});
