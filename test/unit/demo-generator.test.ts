import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { copyField, copyLine, timestampText } from '../../src/demo/copy-text';
import { Random } from '../../src/demo/random';
import { plannedRows, RowContext, tableChunks, tenantRows } from '../../src/demo/rows';
import { DEMO_TABLES, DemoShape, demoTenantIds, HISTORY_SECONDS, planTenants, tenantSizes } from '../../src/demo/tenant-plan';

const shape: DemoShape = { seed: 7, tenants: 12, rowsPerTenant: 2_000 };
const ctx: RowContext = { seed: 7, endsAtSeconds: Date.UTC(2026, 10, 1) / 1000 };

function digestOf(shapeToHash: DemoShape): string {
  const hash = createHash('sha256');
  const plans = planTenants(shapeToHash);
  for (const table of DEMO_TABLES) for (const chunk of tableChunks(table, plans, { ...ctx, seed: shapeToHash.seed })) hash.update(chunk.text);
  return hash.digest('hex');
}

/** Parsed COPY lines of one table for one tenant (no field in these columns needs unescaping). */
function fields(table: (typeof DEMO_TABLES)[number], tenantIndex = 0): string[][] {
  const plan = planTenants(shape)[tenantIndex];
  return [...tenantRows(table, plan, ctx)].map((line) => line.slice(0, -1).split('\t'));
}

describe('demo data generator', () => {
  it('produces byte-identical data for the same seed and different data for another seed', () => {
    expect(digestOf(shape)).toBe(digestOf({ ...shape }));
    expect(digestOf({ ...shape, seed: 8 })).not.toBe(digestOf(shape));
  });

  it('derives stable, distinct UUIDv5 tenant ids from the seed', () => {
    const ids = demoTenantIds(42, 50);
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(demoTenantIds(42, 3)).toEqual(ids.slice(0, 3));
    expect(demoTenantIds(43, 1)[0]).not.toBe(ids[0]);
  });

  it('gives the whale its share and the other tenants a falling power-law curve', () => {
    const sizes = tenantSizes(1_000_000, 40, 0.3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1_000_000);
    expect(sizes[0]).toBe(300_000);
    const rest = sizes.slice(1);
    for (let i = 1; i < rest.length; i++) expect(rest[i]).toBeLessThanOrEqual(rest[i - 1]);
    // Zipf: the second tenant is about ten times the eleventh, and the top tenth holds far more than a tenth.
    expect(rest[0] / rest[9]).toBeGreaterThan(8);
    expect(rest.slice(0, 4).reduce((a, b) => a + b, 0)).toBeGreaterThan(0.4 * 700_000);
    expect(tenantSizes(500, 1, 0.3)).toEqual([500]);
  });

  it('splits rows across tables like a SaaS: many events and comments, few invoices', () => {
    const rows = plannedRows(planTenants({ seed: 1, tenants: 10, rowsPerTenant: 10_000 }));
    const tenantRowsTotal = Object.values(rows).reduce((a, b) => a + b, 0) - rows.tenants;
    expect(tenantRowsTotal).toBeGreaterThanOrEqual(100_000);
    expect(rows.audit_events / tenantRowsTotal).toBeGreaterThan(0.5);
    expect(rows.comments).toBeGreaterThan(rows.documents);
    expect(rows.documents).toBeGreaterThan(rows.users);
    expect(rows.users).toBeGreaterThan(rows.invoices);
    expect(rows.invoices).toBeGreaterThan(rows.projects);
  });

  it('gives every tenant contiguous ids and at least one user, project and document', () => {
    const plans = planTenants({ seed: 3, tenants: 30, rowsPerTenant: 50 });
    for (let i = 1; i < plans.length; i++) {
      expect(plans[i].firstId.users).toBe(plans[i - 1].firstId.users + plans[i - 1].rows.users);
    }
    for (const plan of plans) {
      expect(plan.rows.users).toBeGreaterThanOrEqual(1);
      expect(plan.rows.projects).toBeGreaterThanOrEqual(1);
      expect(plan.rows.documents).toBeGreaterThanOrEqual(1);
    }
    expect(new Set(plans.map((p) => p.name)).size).toBe(plans.length);
    expect(plans[0].tier).toBe('enterprise');
    expect(new Set(plans.map((p) => p.tier))).toEqual(new Set(['free', 'pro', 'enterprise']));
  });

  it('points every child row at parents of its own tenant', () => {
    const plan = planTenants(shape)[2];
    const inRange = (id: string, table: keyof typeof plan.rows) =>
      Number(id) >= plan.firstId[table] && Number(id) < plan.firstId[table] + plan.rows[table];
    for (const [tenant, , docId, authorId] of fields('comments', 2)) {
      expect(tenant).toBe(plan.id);
      expect(inRange(docId, 'documents') && inRange(authorId, 'users')).toBe(true);
    }
    for (const [, , billedUserId] of fields('invoices', 2)) {
      expect(billedUserId === '\\N' || inRange(billedUserId, 'users')).toBe(true);
    }
  });

  it('spreads audit events over two years in id order, and writes some documents longer than 8 kB', () => {
    const times = fields('audit_events').map((f) => Date.parse(f[5]) / 1000);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[times.length - 1] - times[0]).toBeGreaterThan(0.95 * HISTORY_SECONDS);
    const longBodies = fields('documents').filter((f) => f[5].length > 8 * 1024);
    expect(longBodies.length).toBeGreaterThan(0);
  });

  it('escapes what COPY text format treats specially', () => {
    expect(copyField('a\tb\nc\\d\re')).toBe('a\\tb\\nc\\\\d\\re');
    expect(copyField(null)).toBe('\\N');
    expect(copyLine(['x', 1, null])).toBe('x\t1\t\\N\n');
  });

  it('writes the same instants as Date.toISOString, including across midnight', () => {
    const random = new Random('timestamps');
    const instants = [0, 86_399, 86_400, 1_700_000_000, ...Array.from({ length: 500 }, () => random.int(0, 2_000_000_000))];
    for (const seconds of instants) {
      expect(timestampText(seconds)).toBe(new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'));
    }
  });

  it('draws the same numbers from a stream of the same name', () => {
    const a = new Random(42, 'users', 0);
    const b = new Random(42, 'users', 0);
    const c = new Random(42, 'users', 1);
    const draw = (r: Random) => Array.from({ length: 5 }, () => r.nextUint32());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });
});
