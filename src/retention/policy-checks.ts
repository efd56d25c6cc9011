import { DataMap, Erasure, qualifiedName, TableEntry } from '../datamap/datamap.types';
import { checkStrategies } from '../erasure/anonymize';
import { planPurge } from '../erasure/plan';
import { checkTenantId, findTable } from '../erasure/scope';
import { DomainError } from '../errors';
import type { PolicyEntry, RetentionFile } from './retention.config';
import { RetentionProblem } from './retention-config.error';
import { RetentionPolicy, TenantFilter } from './retention.types';

/** Ages are measured on a point in time: a timestamp (with or without time zone) or a date. */
const AGE_TYPES = /^(timestamp\b|date$)/;

/** A tenant id of the tenants table's key type, only to let planPurge check the rest. */
const SAMPLE_TENANT = { uuid: '00000000-0000-4000-8000-000000000000', bigint: '0', text: 'sample' } as const;

/**
 * Checks each policy against the data map — the table is tenant data, the
 * age column exists and holds times, anonymize strategies fit their columns,
 * tenant ids have the tenants table's key type — and resolves defaults from
 * the table's retention rule. Collects every problem, each at its field.
 */
export function checkPoliciesAgainstMap(file: RetentionFile, map: DataMap): { policies: RetentionPolicy[]; problems: RetentionProblem[] } {
  const problems: RetentionProblem[] = [];
  const policies: RetentionPolicy[] = [];
  for (const [name, entry] of Object.entries(file.policies).sort(([a], [b]) => a.localeCompare(b))) {
    const found: RetentionProblem[] = [];
    const problem = (field: PropertyKey[], message: string) => found.push({ path: ['policies', name, ...field], message });
    const policy = resolvePolicy(name, entry, file, map, problem);
    if (policy && found.length === 0) checkPlan(map, policy, problem);
    problems.push(...found);
    if (policy && found.length === 0) policies.push(policy);
  }
  return { policies, problems };
}

export type Report = (field: PropertyKey[], message: string) => void;

/**
 * The table and its age column: the checks that need only those two fields,
 * so they also run for a policy whose other fields are malformed.
 */
export function checkTableFields(entry: { table: string; ageColumn?: string }, map: DataMap, problem: Report): { table: TableEntry; ageColumn: string } | null {
  let table: TableEntry;
  try {
    table = findTable(map, entry.table);
  } catch (error) {
    problem(['table'], messageOf(error));
    return null;
  }
  const ageColumn = entry.ageColumn ?? table.retention?.ageColumn;
  const column = table.columns.find((c) => c.name === ageColumn);
  if (!ageColumn) problem(['ageColumn'], `required: the data map has no retention rule for ${entry.table} to take it from`);
  else if (!column) problem(['ageColumn'], `${qualifiedName(table)} has no column "${ageColumn}"`);
  else if (!AGE_TYPES.test(column.type)) problem(['ageColumn'], `"${ageColumn}" is ${column.type}; an age column is a timestamp or a date`);
  return ageColumn && column && AGE_TYPES.test(column.type) ? { table, ageColumn } : null;
}

function resolvePolicy(name: string, entry: PolicyEntry, file: RetentionFile, map: DataMap, problem: Report): RetentionPolicy | null {
  const tenants = tenantFilter(entry, file, map, problem);
  const overrides = Object.entries(entry.overrides).map(([tenantId, o]) => ({ tenantId: normalizeId(map, tenantId, ['overrides', tenantId], problem), ...o }));
  const checked = checkTableFields(entry, map, problem);
  if (!checked) return null;
  const { table, ageColumn } = checked;
  const maxAgeDays = entry.maxAgeDays ?? table.retention?.maxAgeDays;
  if (maxAgeDays === undefined) problem(['maxAgeDays'], `required: the data map has no retention rule for ${entry.table} to take it from`);
  const action: Erasure = entry.action === 'anonymize' ? { action: 'anonymize', columns: entry.columns ?? {} } : { action: 'delete' };
  if (action.action === 'anonymize') {
    try {
      checkStrategies(table, action.columns);
    } catch (error) {
      problem(['columns'], messageOf(error));
    }
  }
  if (maxAgeDays === undefined) return null;
  return {
    name, table: qualifiedName(table), ageColumn, maxAgeDays, tenants, action, batch: entry.batch,
    schedule: { cron: entry.schedule, timeZone: entry.timeZone }, catchUp: entry.catchUp, concurrency: entry.concurrency, overrides,
  };
}

/** Whatever else the erasure planner would refuse for this policy's purge, refused now rather than at 03:00. */
function checkPlan(map: DataMap, policy: RetentionPolicy, problem: Report): void {
  try {
    planPurge(map, { kind: 'retention', tenantId: SAMPLE_TENANT[map.tenantTable.keyType], table: policy.table, ageColumn: policy.ageColumn, cutoff: new Date(0).toISOString(), action: policy.action });
  } catch (error) {
    problem([], messageOf(error));
  }
}

function tenantFilter(entry: PolicyEntry, file: RetentionFile, map: DataMap, problem: Report): TenantFilter {
  if (!entry.tenants) return null;
  if (entry.tenants.ids) return { ids: entry.tenants.ids.map((id, i) => normalizeId(map, id, ['tenants', 'ids', i], problem)) };
  const tenantsTable = map.tables.find((t) => t.kind === 'tenants');
  if (!file.tierColumn) {
    problem(['tenants', 'tiers'], 'filtering by tier needs `tierColumn:` at the top of the file (the tenants table column holding the tier)');
  } else if (!tenantsTable?.columns.some((c) => c.name === file.tierColumn)) {
    problem(['tenants', 'tiers'], `the tenants table has no tier column "${file.tierColumn}" (tierColumn)`);
  }
  return { tiers: entry.tenants.tiers ?? [], tierColumn: file.tierColumn ?? '' };
}

/** Tenant ids as the catalog keys them (uuids in lower case). */
function normalizeId(map: DataMap, id: string, field: PropertyKey[], problem: Report): string {
  try {
    checkTenantId(id, map.tenantTable.keyType);
  } catch {
    problem(field, `"${id}" is not a tenant id: the tenants table's key is a ${map.tenantTable.keyType}`);
  }
  return map.tenantTable.keyType === 'uuid' ? id.toLowerCase() : id;
}

/** A domain error's message, or its list of problems when it has one (the anonymize check's ends "fix the data map config"). */
function messageOf(error: unknown): string {
  if (!(error instanceof DomainError)) throw error;
  const listed = error.details?.problems;
  return Array.isArray(listed) ? listed.join('; ') : error.message;
}
