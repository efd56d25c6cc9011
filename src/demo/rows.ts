import { copyLine, timestampText } from './copy-text';
import { Random } from './random';
import { DEFAULT_ENDS_AT, DemoShape, DemoTable, HISTORY_SECONDS, TenantPlan, TenantTable } from './tenant-plan';
import { personFor, phrase, prose, sentence } from './text';
import { AUDIT_ACTIONS, CITIES, CURRENCIES, DOCUMENT_STATUSES, PROJECT_KINDS, STREETS, USER_AGENTS, WORDS } from './words';

/** What every row producer needs besides its tenant. */
export interface RowContext {
  seed: number;
  endsAtSeconds: number;
}

export function rowContextFor(shape: DemoShape): RowContext {
  return { seed: shape.seed, endsAtSeconds: Math.floor((shape.endsAt ?? DEFAULT_ENDS_AT).getTime() / 1000) };
}

/** Columns in the order the producers emit them (the COPY column list). */
export const COPY_COLUMNS: Record<DemoTable, readonly string[]> = {
  tenants: ['id', 'name', 'plan_id', 'tier', 'created_at'],
  users: ['tenant_id', 'id', 'email', 'full_name', 'created_at'],
  projects: ['tenant_id', 'id', 'owner_id', 'name', 'created_at'],
  documents: ['tenant_id', 'id', 'project_id', 'author_id', 'title', 'body', 'metadata', 'updated_at'],
  comments: ['tenant_id', 'id', 'document_id', 'author_id', 'body', 'created_at'],
  invoices: ['tenant_id', 'id', 'billed_user_id', 'billing_name', 'billing_email', 'billing_address', 'amount_cents', 'currency', 'issued_at'],
  audit_events: ['tenant_id', 'id', 'actor_id', 'action', 'payload', 'occurred_at'],
};

/** Every 50th document (the first of each tenant included) is a long handbook that TOAST stores out of line. */
const LONG_DOCUMENT_EVERY = 50;
const INVOICE_CENTS: Record<TenantPlan['tier'], [number, number]> = {
  free: [0, 0],
  pro: [2_900, 29_000],
  enterprise: [50_000, 2_500_000],
};

/** A parent id of this tenant, skewed towards low ids: a few users and documents draw most activity. */
function skewedId(random: Random, tenant: TenantPlan, table: TenantTable): number {
  const u = random.float();
  return tenant.firstId[table] + Math.floor(u * u * tenant.rows[table]);
}

/** The k-th of n timestamps spread evenly (with jitter) over [from, to): ids follow time. */
function spreadTime(random: Random, k: number, n: number, from: number, to: number): string {
  return timestampText(Math.floor(from + ((k + random.float()) / n) * (to - from)));
}

type RowProducer = (tenant: TenantPlan, random: Random, ctx: RowContext) => Generator<string>;

const PRODUCERS: Record<TenantTable, RowProducer> = {
  *users(t, random, ctx) {
    for (let k = 0; k < t.rows.users; k++) {
      const id = t.firstId.users + k;
      const person = personFor(ctx.seed, id, t.domain);
      const createdAt = spreadTime(random, k, t.rows.users, t.createdAtSeconds, ctx.endsAtSeconds);
      yield copyLine([t.id, id, person.email, person.fullName, createdAt]);
    }
  },
  *projects(t, random, ctx) {
    for (let k = 0; k < t.rows.projects; k++) {
      const name = `${random.pick(PROJECT_KINDS)} ${phrase(random, 2)}`;
      const createdAt = spreadTime(random, k, t.rows.projects, t.createdAtSeconds, ctx.endsAtSeconds);
      yield copyLine([t.id, t.firstId.projects + k, skewedId(random, t, 'users'), name, createdAt]);
    }
  },
  *documents(t, random, ctx) {
    for (let k = 0; k < t.rows.documents; k++) {
      const long = k % LONG_DOCUMENT_EVERY === 0;
      const body = prose(random, long ? random.int(9_000, 20_000) : random.int(150, 1_200));
      const metadata = JSON.stringify({
        status: random.pick(DOCUMENT_STATUSES),
        tags: [random.pick(WORDS), random.pick(WORDS)],
        version: random.int(1, 40),
      });
      const updatedAt = spreadTime(random, k, t.rows.documents, t.createdAtSeconds, ctx.endsAtSeconds);
      const ids = [t.firstId.documents + k, skewedId(random, t, 'projects'), skewedId(random, t, 'users')];
      yield copyLine([t.id, ...ids, phrase(random, random.int(2, 7)), body, metadata, updatedAt]);
    }
  },
  *comments(t, random, ctx) {
    for (let k = 0; k < t.rows.comments; k++) {
      const body = random.chance(0.7) ? sentence(random) : prose(random, random.int(80, 400));
      const createdAt = spreadTime(random, k, t.rows.comments, t.createdAtSeconds, ctx.endsAtSeconds);
      const ids = [t.firstId.comments + k, skewedId(random, t, 'documents'), skewedId(random, t, 'users')];
      yield copyLine([t.id, ...ids, body, createdAt]);
    }
  },
  *invoices(t, random, ctx) {
    const [minCents, maxCents] = INVOICE_CENTS[t.tier];
    for (let k = 0; k < t.rows.invoices; k++) {
      // Some invoices go to the company rather than to a person.
      const userId = random.chance(0.1) ? null : t.firstId.users + random.int(0, t.rows.users - 1);
      const person = userId === null ? null : personFor(ctx.seed, userId, t.domain);
      const address = `${random.int(1, 250)} ${random.pick(STREETS)}, ${random.pick(CITIES)}`;
      const issuedAt = spreadTime(random, k, t.rows.invoices, t.createdAtSeconds, ctx.endsAtSeconds);
      yield copyLine([
        t.id, t.firstId.invoices + k, userId, person?.fullName ?? t.name, person?.email ?? `billing@${t.domain}`,
        address, random.int(minCents, maxCents), random.pick(CURRENCIES), issuedAt,
      ]);
    }
  },
  *audit_events(t, random, ctx) {
    const from = ctx.endsAtSeconds - HISTORY_SECONDS;
    for (let k = 0; k < t.rows.audit_events; k++) {
      // System events (scheduled jobs) have no actor.
      const actorId = random.chance(0.05) ? null : skewedId(random, t, 'users');
      const ip = `10.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
      const payload = JSON.stringify({ ip, ua: random.pick(USER_AGENTS), request: random.nextUint32().toString(16) });
      const occurredAt = spreadTime(random, k, t.rows.audit_events, from, ctx.endsAtSeconds);
      yield copyLine([t.id, t.firstId.audit_events + k, actorId, random.pick(AUDIT_ACTIONS), payload, occurredAt]);
    }
  },
};

/** One table's rows for one tenant, as COPY text lines, from the table's own random stream. */
export function* tenantRows(table: DemoTable, tenant: TenantPlan, ctx: RowContext): Generator<string> {
  if (table === 'tenants') {
    yield copyLine([tenant.id, tenant.name, tenant.planId, tenant.tier, timestampText(tenant.createdAtSeconds)]);
    return;
  }
  yield* PRODUCERS[table](tenant, new Random(ctx.seed, table, tenant.index), ctx);
}

/** Rows per table for a set of plans: what a load of them inserts. */
export function plannedRows(tenants: TenantPlan[]): Record<DemoTable, number> {
  const sum = (table: TenantTable) => tenants.reduce((total, t) => total + t.rows[table], 0);
  return {
    tenants: tenants.length,
    users: sum('users'),
    projects: sum('projects'),
    documents: sum('documents'),
    comments: sum('comments'),
    invoices: sum('invoices'),
    audit_events: sum('audit_events'),
  };
}

export interface CopyChunk {
  text: string;
  rows: number;
}

/** A whole table as COPY text in chunks of about `chunkBytes`: bounded memory at any scale. */
export function* tableChunks(table: DemoTable, tenants: TenantPlan[], ctx: RowContext, chunkBytes = 64 * 1024): Generator<CopyChunk> {
  let text = '';
  let rows = 0;
  for (const tenant of tenants) {
    for (const line of tenantRows(table, tenant, ctx)) {
      text += line;
      rows += 1;
      if (text.length >= chunkBytes) {
        yield { text, rows };
        text = '';
        rows = 0;
      }
    }
  }
  if (rows > 0) yield { text, rows };
}
