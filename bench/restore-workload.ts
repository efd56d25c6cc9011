import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DEMO_TABLES, TenantPlan } from '../src/demo/tenant-plan';
import { withClient } from './bench-context';

/**
 * The write traffic of the restore benchmark: a WAL history of mixed changes
 * on every tenant (what the two restore paths replay), and a steady load at
 * a fixed rate (what the archiver keeps up with). Ids come from the demo
 * plan: each tenant's ids are one contiguous range per table.
 */
export interface WorkloadTenant {
  plan: TenantPlan;
  /** the tenant's share of all rows */
  share: number;
  /** next audit_events id a history deletes from (deletes walk the range once) */
  deleteCursor: number;
}

export function workloadTenants(plans: TenantPlan[]): WorkloadTenant[] {
  const rows = (p: TenantPlan) => Object.values(p.rows).reduce((a, b) => a + b, 0);
  const total = plans.reduce((sum, p) => sum + rows(p), 0);
  return plans.map((plan) => ({ plan, share: rows(plan) / total, deleteCursor: plan.firstId.audit_events }));
}

/** A random window of `n` ids inside the tenant's range of `table`. */
function window(t: WorkloadTenant, table: 'users' | 'comments', n: number): [number, number] {
  const first = t.plan.firstId[table];
  const span = Math.max(0, t.plan.rows[table] - n);
  const start = first + Math.floor(Math.random() * (span + 1));
  return [start, start + n];
}

/**
 * One transaction of mixed changes for one tenant, about `n` rows: 40%
 * inserted audit events, 20% users and 20% comments updated, 20% audit
 * events deleted. Returns the rows changed.
 */
async function mixedChanges(client: Client, t: WorkloadTenant, n: number, label: string): Promise<number> {
  const part = (f: number) => Math.max(1, Math.round(n * f));
  const id = t.plan.id;
  let changed = 0;
  await client.query('BEGIN');
  try {
    changed += (await client.query(
      `INSERT INTO audit_events (tenant_id, action, payload) SELECT $1, $2, jsonb_build_object('i', i) FROM generate_series(1, $3::int) AS i`,
      [id, label, part(0.4)])).rowCount ?? 0;
    const [u0, u1] = window(t, 'users', part(0.2));
    changed += (await client.query(`UPDATE users SET full_name = full_name || '.' WHERE tenant_id = $1 AND id >= $2 AND id < $3`, [id, u0, u1])).rowCount ?? 0;
    const [c0, c1] = window(t, 'comments', part(0.2));
    changed += (await client.query(`UPDATE comments SET body = body || '!' WHERE tenant_id = $1 AND id >= $2 AND id < $3`, [id, c0, c1])).rowCount ?? 0;
    const from = t.deleteCursor;
    t.deleteCursor += part(0.2);
    changed += (await client.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND id >= $2 AND id < $3`, [id, from, t.deleteCursor])).rowCount ?? 0;
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return changed;
}

/**
 * About `changes` row changes over every tenant in proportion to its size,
 * in `rounds` rounds of one transaction per tenant. Returns rows changed.
 */
export async function runHistory(url: string, tenants: WorkloadTenant[], changes: number, label: string, rounds = 10): Promise<number> {
  return withClient(url, async (client) => {
    let changed = 0;
    for (let round = 0; round < rounds; round++) {
      for (const t of tenants) changed += await mixedChanges(client, t, Math.round((changes / rounds) * t.share), label);
    }
    return changed;
  });
}

/**
 * `txPerSecond` small transactions a second (one audit event, one user
 * update, on a tenant drawn by size) until `signal` aborts; paced against
 * the clock, so a slow transaction is caught up rather than lowering the rate.
 */
export async function runSteadyLoad(url: string, tenants: WorkloadTenant[], txPerSecond: number, signal: AbortSignal): Promise<number> {
  return withClient(url, async (client) => {
    const started = Date.now();
    let done = 0;
    while (!signal.aborted) {
      const due = started + (done * 1000) / txPerSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      let x = Math.random();
      const t = tenants.find((c) => (x -= c.share) <= 0) ?? tenants[tenants.length - 1];
      await mixedChanges(client, t, 2, 'steady');
      done += 1;
    }
    return done;
  });
}

/**
 * A digest of the tenant's rows in every table (row count and md5 of the
 * rows as text in key order): equal digests, equal contents.
 */
export async function tenantDigest(url: string, tenantId: string): Promise<string> {
  return withClient(url, async (client) => {
    const parts: string[] = [];
    for (const table of DEMO_TABLES) {
      const column = table === 'tenants' ? 'id' : 'tenant_id';
      const { rows } = await client.query<{ n: string; md5: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) AS md5 FROM ${table} t WHERE ${column} = $1`, [tenantId]);
      parts.push(`${table}:${rows[0].n}:${rows[0].md5}`);
    }
    return parts.join(' ');
  });
}
