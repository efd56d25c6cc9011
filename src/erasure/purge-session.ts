import { Pool } from 'pg';
import { DataMap, sameTable } from '../datamap/datamap.types';
import { withTenantTransaction } from '../db/pool';
import { conflict, notFound } from '../errors';
import { ValueSources, scopeValues } from './bind';
import { runCensus } from './census';
import { describeTarget, ErasureCatalog, RecordedScope } from './erasure.catalog';
import { PurgePlan, PurgeTarget } from './erasure.types';
import { planPurge } from './plan';
import { checkTenantId } from './scope';
import { q, qualified } from './sql-builder';
import { resolveSubjectKeys } from './subject-keys';

/** Catalog rows are keyed by text: one tenant must have one spelling (uuids in lower case). */
export function normalizeTenantId(map: DataMap, tenantId: string): string {
  checkTenantId(tenantId, map.tenantTable.keyType);
  return map.tenantTable.keyType === 'uuid' ? tenantId.toLowerCase() : tenantId;
}

/**
 * One purge of one target, as the activities see it: the plan, and the
 * count recorded in the catalog before the first batch, which every later
 * step (purge, verify, a retry of either) reuses instead of recounting.
 */
export class PurgeSession {
  private constructor(
    private readonly appPool: Pool,
    private readonly catalog: ErasureCatalog,
    private readonly map: DataMap,
    readonly requestId: string,
    readonly target: PurgeTarget,
    readonly plan: PurgePlan,
  ) {}

  static async open(appPool: Pool, catalog: ErasureCatalog, map: DataMap, requestId: string, target: PurgeTarget): Promise<PurgeSession> {
    const normalized = { ...target, tenantId: normalizeTenantId(map, target.tenantId) } as PurgeTarget;
    return new PurgeSession(appPool, catalog, map, requestId, normalized, planPurge(map, normalized));
  }

  get tenantId(): string {
    return this.target.tenantId;
  }

  async count() {
    const recorded = (await this.findRecorded()) ?? (await this.countAndRecord());
    const subjectFound = this.target.kind === 'subject' ? recorded.subjectKeys !== '[]' : null;
    return { requestId: this.requestId, tenantId: this.tenantId, countedAt: recorded.countedAt, subjectFound, tables: recorded.counts };
  }

  /** The recorded count; purging or verifying an uncounted scope is a workflow bug. */
  async recorded(): Promise<RecordedScope> {
    const recorded = await this.findRecorded();
    if (!recorded) throw conflict('scope_not_counted', `Request ${this.requestId} has no counted scope for this tenant: run countScope before purge and verifyScope.`);
    const aligned = recorded.counts.length === this.plan.steps.length && recorded.counts.every((c, i) => sameTable(c.table, this.plan.steps[i].table));
    if (!aligned) {
      throw conflict('datamap_changed', `The data map changed since request ${this.requestId} counted its scope; the recorded counts no longer match the plan. Start a new request.`);
    }
    return recorded;
  }

  async assertNoLegalHold(): Promise<void> {
    const hold = await this.catalog.legalHold(this.tenantId);
    if (hold) throw conflict('legal_hold', `Tenant ${this.tenantId} is under a legal hold (${hold.reason}); lift the hold to continue.`, { placedAt: hold.placedAt });
  }

  /** The values the plan's statements bind, from the target and the recorded subject keys. */
  sources(recorded: Pick<RecordedScope, 'subjectKeys'>): ValueSources {
    const t = this.target;
    return { subjectKeys: recorded.subjectKeys, subjectValue: t.kind === 'subject' ? t.subject.value : undefined, cutoff: t.kind === 'retention' ? t.cutoff : undefined };
  }

  private async findRecorded(): Promise<RecordedScope | null> {
    const recorded = await this.catalog.findScope(this.requestId, this.tenantId);
    if (recorded && canonical(recorded.target) !== canonical(describeTarget(this.target))) {
      throw conflict('purge_target_changed', `Request ${this.requestId} counted a different target; one request purges one target.`);
    }
    return recorded;
  }

  private async countAndRecord(): Promise<RecordedScope> {
    await this.assertTenantExists();
    const subjectKeys = this.target.kind === 'subject' ? await resolveSubjectKeys(this.appPool, this.map, this.tenantId, this.target.subject) : null;
    const counts = await runCensus(this.appPool, this.plan, scopeValues(this.plan, this.sources({ subjectKeys })));
    return this.catalog.recordScope(this.requestId, this.tenantId, { target: describeTarget(this.target), subjectKeys, counts });
  }

  private async assertTenantExists(): Promise<void> {
    const table = this.map.tenantTable;
    const exists = await withTenantTransaction(this.appPool, this.tenantId, async (client) =>
      (await client.query(`SELECT 1 FROM ${qualified(table)} WHERE ${q(table.keyColumn)} = $1`, [this.tenantId])).rowCount === 1);
    if (!exists) throw notFound('tenant_not_found', `No tenant ${this.tenantId}; check the id (\`compliance-ops\` lists tenants from the tenants table).`);
  }
}

/** JSON with sorted keys: jsonb does not keep key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
