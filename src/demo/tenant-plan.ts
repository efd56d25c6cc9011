import { createHash } from 'node:crypto';
import { Random } from './random';
import { COMPANY_KINDS, COMPANY_WORDS } from './words';

/**
 * Glossary. A tenant plan says, before any row is generated, how many rows of
 * each table a tenant gets and which ids they carry. Ids are global per table
 * (one identity sequence per table) and contiguous per tenant, so a child row
 * can pick a parent id from a range without looking anything up, and every
 * table can be generated independently and in parallel.
 */

/** Load order: parents before children. */
export const DEMO_TABLES = ['tenants', 'users', 'projects', 'documents', 'comments', 'invoices', 'audit_events'] as const;
export type DemoTable = (typeof DEMO_TABLES)[number];
export type TenantTable = Exclude<DemoTable, 'tenants'>;
export type Tier = 'free' | 'pro' | 'enterprise';

/** Share of a tenant's rows per table; audit_events takes what is left (~55%). */
const TABLE_SHARE: Record<Exclude<TenantTable, 'audit_events'>, number> = {
  users: 0.05,
  projects: 0.015,
  documents: 0.06,
  comments: 0.3,
  invoices: 0.025,
};

/** Exponent of the Zipf curve the tenants after the whale follow. */
const ZIPF_EXPONENT = 1.1;
export const DEFAULT_WHALE_SHARE = 0.3;
const DAY_SECONDS = 86_400;
/** audit_events and the other time columns cover this much history. */
export const HISTORY_SECONDS = 730 * DAY_SECONDS;
/**
 * The data's "now". Fixed, not the wall clock, so a seed always yields the
 * same bytes; pass `endsAt` to move the history window.
 */
export const DEFAULT_ENDS_AT = new Date('2026-11-01T00:00:00Z');

/** Namespace of the demo tenants' UUIDv5 ids (itself a random v4 UUID). */
const TENANT_ID_NAMESPACE = '5f0c2a8e-3b7d-4c61-9e2a-7d4b1f6a0c93';

export interface DemoShape {
  seed: number;
  tenants: number;
  rowsPerTenant: number;
  whaleShare?: number;
  endsAt?: Date;
}

export interface TenantPlan {
  index: number;
  id: string;
  name: string;
  /** e-mail domain of the tenant's users */
  domain: string;
  tier: Tier;
  planId: string;
  createdAtSeconds: number;
  rows: Record<TenantTable, number>;
  /** first id of this tenant's rows in each table; its ids are firstId … firstId + rows - 1 */
  firstId: Record<TenantTable, number>;
}

/** UUIDv5 (RFC 9562) of `name` in `namespace`: stable ids from the seed. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The demo tenants' ids, in tenant order; tenant 0 is the whale. */
export function demoTenantIds(seed: number, tenants: number): string[] {
  return Array.from({ length: tenants }, (_, index) => uuidV5(TENANT_ID_NAMESPACE, `demo:${seed}:${index}`));
}

/** Splits `total` in proportion to `weights`, exactly (largest remainder). */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((p, q) => q.r - p.r || p.i - q.i);
  for (const { i } of byRemainder) {
    if (left-- <= 0) break;
    counts[i] += 1;
  }
  return counts;
}

/** Rows per tenant: the whale takes `whaleShare`, the others a Zipf curve of the rest. */
export function tenantSizes(totalRows: number, tenants: number, whaleShare: number): number[] {
  if (tenants < 1) throw new RangeError('tenants must be at least 1');
  if (!(whaleShare > 0 && whaleShare < 1)) throw new RangeError('whaleShare must be between 0 and 1');
  if (tenants === 1) return [totalRows];
  const whale = Math.round(totalRows * whaleShare);
  const weights = Array.from({ length: tenants - 1 }, (_, k) => 1 / (k + 1) ** ZIPF_EXPONENT);
  return [whale, ...apportion(totalRows - whale, weights)];
}

/** How a tenant's rows split across tables; every tenant has a user, project and document. */
export function tableRows(size: number): Record<TenantTable, number> {
  const share = (table: keyof typeof TABLE_SHARE, min: number) => Math.max(min, Math.round(size * TABLE_SHARE[table]));
  const rows = {
    users: share('users', 1),
    projects: share('projects', 1),
    documents: share('documents', 1),
    comments: share('comments', 0),
    invoices: share('invoices', 0),
  };
  const used = Object.values(rows).reduce((a, b) => a + b, 0);
  return { ...rows, audit_events: Math.max(0, size - used) };
}

function pickTier(random: Random, index: number): Tier {
  if (index === 0) return 'enterprise';
  const x = random.float();
  return x < 0.15 ? 'enterprise' : x < 0.5 ? 'pro' : 'free';
}

/** A company name no earlier tenant has, so demo output and logs tell tenants apart. */
function uniqueName(random: Random, taken: Set<string>, index: number): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const name = `${random.pick(COMPANY_WORDS)} ${random.pick(COMPANY_KINDS)}`;
    if (!taken.has(name)) return name;
  }
  return `${random.pick(COMPANY_WORDS)} ${random.pick(COMPANY_KINDS)} ${index}`;
}

/** Every tenant's plan, in tenant order. Pure: no database, no clock. */
export function planTenants(shape: DemoShape): TenantPlan[] {
  const endsAt = Math.floor((shape.endsAt ?? DEFAULT_ENDS_AT).getTime() / 1000);
  const sizes = tenantSizes(shape.tenants * shape.rowsPerTenant, shape.tenants, shape.whaleShare ?? DEFAULT_WHALE_SHARE);
  const ids = demoTenantIds(shape.seed, shape.tenants);
  const names = new Set<string>();
  const nextId = { users: 1, projects: 1, documents: 1, comments: 1, invoices: 1, audit_events: 1 };
  return sizes.map((size, index) => {
    const random = new Random(shape.seed, 'tenant', index);
    const name = uniqueName(random, names, index);
    names.add(name);
    const tier = pickTier(random, index);
    const planId = tier === 'pro' ? random.pick(['pro-monthly', 'pro-annual']) : tier;
    const rows = tableRows(size);
    const firstId = { ...nextId };
    for (const table of Object.keys(nextId) as TenantTable[]) nextId[table] += rows[table];
    return {
      index,
      id: ids[index],
      name,
      domain: `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${index}.example`,
      tier,
      planId,
      createdAtSeconds: endsAt - HISTORY_SECONDS - random.int(1, 365) * DAY_SECONDS,
      rows,
      firstId,
    };
  });
}
