import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsKeyring } from '../../src/kms/keyring';
import { readTenantTransactions } from '../../src/restore/archive-reader';
import { walArchiverWorkflowId } from '../../src/restore/archiver-supervisor';
import { parseLsn } from '../../src/restore/lsn';
import { runRestore } from '../../src/restore/run-restore';
import { getSegment } from '../../src/restore/segment-store';
import { takeTenantSnapshot } from '../../src/restore/tenant-snapshot';
import { PitrService, startPitrService } from '../helpers/pitr-service';
import { until } from '../helpers/worker-process';

/*
 * The supervised archiver, killed with SIGKILL twice while a workload
 * commits on three tenants from three connections (WAL-adjacent commits
 * included). A second logical slot with test_decoding, created before the
 * workload, is the reference: every transaction it saw must be in the archive
 * exactly once (by xid, end LSN and per-tenant change count) after the
 * duplicates a re-drain leaves in the index are skipped by commit LSN, as
 * replay does. Then tenant A is restored to instants remembered during the
 * workload, exactly. Each kill costs the archiver's 20 s heartbeat timeout.
 */
const SHAPE = { seed: 1031, tenants: 3, rowsPerTenant: 60 };
const ARCHIVER_ENV = { WAL_ARCHIVER: 'on', WAL_ARCHIVER_INTERVAL_SECONDS: '0.1' };
const WRITERS = 3;

let pitr: PitrService;
let referenceSlot: string;

beforeAll(async () => {
  pitr = await startPitrService('rarch_crash', SHAPE);
  referenceSlot = `ref_${pitr.names.slot}`.slice(0, 63);
}, 180_000);

afterAll(async () => {
  await pitr?.close([referenceSlot]);
});

interface Instant {
  lsn: string;
  contents: Record<string, string[]>;
}

/** Writers that commit until stopped, and can be held between transactions to remember an exact instant. */
function startWorkload(tenants: string[], ids: Map<string, { users: string[] }>) {
  let stop = false;
  let hold = false;
  let held = 0;
  let committed = 0;
  const big = () => randomBytes(3_000).toString('hex'); // incompressible: TOASTed
  const clients = Array.from({ length: WRITERS }, () => new Client({ connectionString: pitr.service.app.adminUrl }));
  for (const c of clients) c.on('error', () => undefined); // a failed test drops the database under them
  const step = async (c: Client, w: number, i: number) => {
    const tenant = tenants[(w + i) % tenants.length];
    const users = ids.get(tenant)!.users;
    switch (i % 5) {
      case 0:
        await c.query(`INSERT INTO audit_events (tenant_id, action, payload) VALUES ($1, $2, $3)`, [tenant, `w${w}-${i}`, JSON.stringify({ i })]);
        break;
      case 1:
        await c.query(`UPDATE users SET full_name = $3 WHERE tenant_id = $1 AND id = $2`, [tenant, users[i % users.length], `name ${w}-${i}`]);
        break;
      case 2: {
        // One transaction over three tables, with a TOASTed value.
        await c.query('BEGIN');
        const { rows: [u] } = await c.query<{ id: string }>(`INSERT INTO users (tenant_id, email, full_name) VALUES ($1, $2, 'Crash Writer') RETURNING id::text`, [tenant, `w${w}-${i}@crash.example`]);
        const { rows: [p] } = await c.query<{ id: string }>(`INSERT INTO projects (tenant_id, owner_id, name) VALUES ($1, $2, 'crash') RETURNING id::text`, [tenant, u.id]);
        await c.query(`INSERT INTO documents (tenant_id, project_id, author_id, title, body) VALUES ($1, $2, $3, 'crash', $4)`, [tenant, p.id, u.id, big()]);
        await c.query('COMMIT');
        break;
      }
      case 3:
        // Leaves each TOASTed body unchanged: replay must keep it.
        await c.query(`UPDATE documents SET title = $2 WHERE tenant_id = $1 AND id = (SELECT max(id) FROM documents WHERE tenant_id = $1)`, [tenant, `t${w}-${i}`]);
        break;
      default:
        await c.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND id = (SELECT min(id) FROM audit_events WHERE tenant_id = $1)`, [tenant]);
    }
    committed += 1;
  };
  const running = (async () => {
    await Promise.all(clients.map((c) => c.connect()));
    await Promise.all(clients.map(async (c, w) => {
      for (let i = 0; !stop; i++) {
        if (hold) {
          held += 1;
          while (hold && !stop) await sleep(5);
          held -= 1;
        }
        await step(c, w, i);
        await sleep(5);
      }
    }));
    await Promise.all(clients.map((c) => c.end()));
  })();
  return {
    get committed() { return committed; },
    /** Holds every writer between two transactions, reads the LSN and tenant A's rows, lets them go. */
    async remember(tenant: string): Promise<Instant> {
      hold = true;
      await until('the writers to pause', 10_000, async () => (held === WRITERS ? true : undefined), [], 5);
      const { rows } = await pitr.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const contents = await pitr.contents(tenant);
      hold = false;
      return { lsn: rows[0].lsn, contents };
    },
    async stop() {
      stop = true;
      await running;
    },
  };
}

/** What test_decoding saw: per committed transaction, its end LSN and how many changes of each tenant it holds. */
async function referenceTransactions(): Promise<Map<string, number>> {
  const { rows } = await pitr.admin.query<{ lsn: string; data: string }>(
    `SELECT lsn::text, data FROM pg_logical_slot_peek_changes($1, NULL, NULL, 'include-xids', '1')`, [referenceSlot]);
  const out = new Map<string, number>();
  let counts = new Map<string, number>();
  for (const { lsn, data } of rows) {
    if (data.startsWith('BEGIN')) counts = new Map();
    else if (data.startsWith('COMMIT')) {
      const xid = data.split(' ')[1];
      for (const [tenant, n] of counts) out.set(`${tenant} xid ${xid} end ${lsn}`, n);
    } else if (data.startsWith('table ')) {
      const tenant = /tenant_id\[uuid\]:'([^']+)'/.exec(data)?.[1];
      if (tenant) counts.set(tenant, (counts.get(tenant) ?? 0) + 1);
    }
  }
  return out;
}

/** What the archive holds from `fromLsn` on, as replay reads it (each transaction once), and how many duplicates the index held. */
async function archivedTransactions(tenants: string[], fromLsn: string): Promise<{ byKey: Map<string, number>; duplicates: number }> {
  const keyring = kmsKeyring(pitr.config, pitr.config.KMS_EXPORT_KEY_ARN);
  const deps = { catalogPool: pitr.catalogPool, s3: pitr.s3, keyring };
  const byKey = new Map<string, number>();
  let duplicates = 0;
  for (const tenant of tenants) {
    for (const { tx } of await readTenantTransactions(deps, tenant, { lsn: fromLsn, takenAt: '2000-01-01T00:00:00Z' })) {
      if (parseLsn(tx.commitLsn) >= parseLsn(fromLsn)) byKey.set(`${tenant} xid ${tx.xid} end ${tx.endLsn}`, tx.changes.length);
    }
    // Raw, as the index lists them: a transaction archived twice shows up twice here.
    const { rows } = await pitr.catalogPool.query<{ bucket: string; object_key: string }>(
      'SELECT bucket, object_key FROM wal_segments WHERE tenant_id = $1 AND last_lsn >= $2::pg_lsn', [tenant, fromLsn]);
    const seen = new Set<string>();
    for (const row of rows) {
      for (const tx of (await getSegment({ s3: pitr.s3, bucket: row.bucket, keyring }, row.object_key, tenant)).transactions) {
        if (seen.has(tx.commitLsn)) duplicates += 1;
        seen.add(tx.commitLsn);
      }
    }
  }
  return { byKey, duplicates };
}

/** The archiver's statement running now, if it is the one asked for. */
async function archiverStatement(fn: string): Promise<string | undefined> {
  const { rows } = await pitr.admin.query<{ query: string }>(
    `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'compliance-ops wal-archiver' AND state = 'active' AND query LIKE $1`,
    [`%${fn}%`]);
  return rows[0] ? fn : undefined;
}

async function pendingArchiveAttempt(): Promise<number> {
  const connection = await Connection.connect({ address: pitr.config.TEMPORAL_ADDRESS });
  try {
    const description = await new TemporalClient({ connection, namespace: pitr.config.TEMPORAL_NAMESPACE }).workflow.getHandle(walArchiverWorkflowId(pitr.config)).describe();
    return description.raw.pendingActivities?.[0]?.attempt ?? 0;
  } finally {
    await connection.close();
  }
}

describe('the supervised WAL archiver killed mid-stream', () => {
  it('resumes from its slot after each SIGKILL and archives every change exactly once; restores after it are exact', async () => {
    const tenants = pitr.service.demo.tenants.map((t) => t.id);
    const [A] = tenants;
    pitr.startWorker(ARCHIVER_ENV);
    const started = Date.now();
    await until('the archiver to set up its slot', 90_000, pitr.archivedLsn, pitr.workers, 250);
    const startupSeconds = (Date.now() - started) / 1000;

    // The reference, and tenant A's snapshot, before any workload transaction.
    const { rows: [ref] } = await pitr.admin.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'test_decoding')`, [referenceSlot]);
    await takeTenantSnapshot({ config: pitr.config, appPool: pitr.appPool, s3: pitr.s3, kms: pitr.kms, catalogPool: pitr.catalogPool }, pitr.map, A, randomUUID());
    const ids = new Map<string, { users: string[] }>();
    for (const t of tenants) {
      ids.set(t, { users: (await pitr.admin.query<{ id: string }>('SELECT id::text FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 20', [t])).rows.map((r) => r.id) });
    }

    const workload = startWorkload(tenants, ids);
    const t0 = Date.now();
    // eslint-disable-next-line no-console
    const log = (what: string) => console.info(`[archiver crash test +${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`);
    const instants: Instant[] = [];
    const advancedPast = async (lsn: string) => {
      const archived = await pitr.archivedLsn();
      return archived && parseLsn(archived) > parseLsn(lsn) ? archived : undefined;
    };
    try {
      for (let kill = 0; kill < 2; kill++) {
        // Wait until the current worker's archiver is draining the workload, then kill it at a random moment of a drain.
        const mark = (await pitr.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
        await until(`worker ${kill + 1}'s archiver to archive the workload`, 90_000, () => advancedPast(mark), pitr.workers, 50);
        instants.push(await workload.remember(A));
        // Mid-drain: while the archiver's backend decodes a batch (kill 1) or confirms one (kill 2).
        const statement = await until('an archiver drain in progress', 30_000, () => archiverStatement(kill === 0 ? 'pg_logical_slot_peek' : 'pg_replication_slot_advance'), pitr.workers, 1);
        const killed = await pitr.workers[kill].crash();
        log(`killed worker ${kill + 1} during ${statement} (archived ${await pitr.archivedLsn()}, ${workload.committed} transactions committed)`);
        expect(killed.signal).toBe('SIGKILL');
        pitr.startWorker(ARCHIVER_ENV);
      }
      const mark = (await pitr.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      await until('worker 3\'s archiver to archive the workload', 90_000, () => advancedPast(mark), pitr.workers, 100);
      log('worker 3 archives');
      await sleep(1_000);
      instants.push(await workload.remember(A));
    } finally {
      await workload.stop();
    }
    expect(await pendingArchiveAttempt()).toBeGreaterThanOrEqual(3);

    const end = (await pitr.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
    await until('the archiver to catch up with the end of the workload', 60_000, () => advancedPast(end), pitr.workers, 100);

    log('caught up');
    const reference = await referenceTransactions();
    const archived = await archivedTransactions(tenants, ref.lsn);
    expect(reference.size).toBeGreaterThan(100);
    expect([...archived.byKey.entries()].sort()).toEqual([...reference.entries()].sort());
    // eslint-disable-next-line no-console
    console.info(`archiver crash test: ${workload.committed} workload transactions, ${reference.size} tenant shares, ` +
      `${archived.duplicates} duplicates in the index skipped by commit LSN, worker start ${startupSeconds.toFixed(1)} s`);

    // Restores after the kills, to instants between them and at the end: exact.
    for (const at of instants) {
      const result = await runRestore(pitr.restoreDeps, pitr.map, { restoreId: randomUUID(), tenantId: A, target: { lsn: at.lsn }, mode: 'staging' });
      expect(await pitr.contents(A, result.schema)).toEqual(at.contents);
    }

    // What an operator sees: the status route and the slot gauges.
    const token = await pitr.service.api.token('operator');
    const status = await (await fetch(`${pitr.service.api.url}/v1/restore/archiver`, { headers: { authorization: `Bearer ${token}` } })).json() as Record<string, unknown>;
    expect(status).toMatchObject({ slot: pitr.names.slot, slotExists: true, initialized: true, ddlMarkersInstalled: true, walStatus: 'reserved', workflow: { status: 'RUNNING' } });
    expect(typeof status.lagBytes).toBe('number');
    const metrics = await (await fetch(`${pitr.service.api.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`compliance_ops_wal_slot_lag_bytes\\{slot="${pitr.names.slot}"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`compliance_ops_wal_slot_safe_bytes\\{slot="${pitr.names.slot}"\\} \\d+`));
  }, 420_000);
});
