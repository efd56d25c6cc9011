import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DataMap, TableEntry, TableKind } from '../../src/datamap/datamap.types';
import { DEMO_RETENTION_CONFIG, parseRetentionPolicies } from '../../src/retention/retention.config';
import { RetentionConfigError } from '../../src/retention/retention-config.error';

const TENANT = '6F1C0B1E-2D3A-4B5C-8D7E-9F0A1B2C3D4E';

function table(name: string, kind: TableKind, columns: Array<[string, string, boolean?]>, extra: Partial<TableEntry> = {}): TableEntry {
  return {
    schema: 'public', name, kind, primaryKey: kind === 'tenants' ? ['id'] : ['tenant_id', 'id'],
    columns: columns.map(([n, type, nullable]) => ({ name: n, type, nullable: nullable ?? false, toastable: false })),
    foreignKeys: [], joinPath: [], erasure: kind === 'global' ? null : { action: 'delete' }, subjectColumns: [], retention: null,
    rlsEnabled: true, rlsForced: false, hasTenantPolicy: true, hasTenantIndex: true, replicaIdentity: 'default', replicaIdentityColumns: [], estimatedRows: 10,
    ...extra,
  };
}

/** Enough of the demo schema for policies: tenants with a tier, audit events with an age rule, a global table. */
const MAP: DataMap = {
  tenantColumn: 'tenant_id',
  tenantTable: { schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' },
  subject: null,
  tables: [
    table('plans', 'global', [['id', 'text']]),
    table('tenants', 'tenants', [['id', 'uuid'], ['tier', 'text']]),
    table('audit_events', 'tenant', [['tenant_id', 'uuid'], ['id', 'bigint'], ['action', 'text'], ['payload', 'jsonb'], ['note', 'text', true],
      ['occurred_at', 'timestamp with time zone']], { retention: { ageColumn: 'occurred_at', maxAgeDays: 365 } }),
  ],
  deleteOrder: [{ schema: 'public', name: 'audit_events' }, { schema: 'public', name: 'tenants' }],
  lints: [],
};

const policy = (fields: string) => `tierColumn: tier\npolicies:\n  audit:\n    table: audit_events\n    schedule: "0 3 * * *"\n${fields}`;

function problemsOf(yaml: string): RetentionConfigError {
  try {
    parseRetentionPolicies(yaml, 'retention.yaml', MAP);
  } catch (error) {
    if (error instanceof RetentionConfigError) return error;
    throw error;
  }
  throw new Error('expected a RetentionConfigError');
}

describe('retention policies file', () => {
  it('accepts the demo file against the demo data map', () => {
    const [demo] = parseRetentionPolicies(readFileSync(DEMO_RETENTION_CONFIG, 'utf8'), 'demo-retention.yaml', MAP);
    expect(demo).toMatchObject({ name: 'audit-events', table: 'public.audit_events', ageColumn: 'occurred_at', maxAgeDays: 365, catchUp: 'none' });
  });

  it('takes age column and max age from the data map, tiers with their column, overrides with lower-cased ids', () => {
    const [p] = parseRetentionPolicies(policy(`    tenants: { tiers: [free, pro] }\n    overrides:\n      ${TENANT}: { maxAgeDays: 730, reason: contract }\n`), 'r.yaml', MAP);
    expect(p).toMatchObject({
      ageColumn: 'occurred_at', maxAgeDays: 365, action: { action: 'delete' }, concurrency: 2, schedule: { cron: '0 3 * * *', timeZone: 'UTC' },
      tenants: { tiers: ['free', 'pro'], tierColumn: 'tier' }, overrides: [{ tenantId: TENANT.toLowerCase(), maxAgeDays: 730, reason: 'contract' }],
    });
  });

  it.each([
    ['an unknown table', 'policies:\n  audit:\n    table: audit_eventz\n    schedule: "0 3 * * *"\n', 'table', /No tenant data table named "audit_eventz"/],
    ['a global table', 'policies:\n  audit:\n    table: plans\n    schedule: "0 3 * * *"\n', 'table', /No tenant data table named "plans"/],
    ['an unknown age column', policy('    ageColumn: occured_at\n'), 'ageColumn', /has no column "occured_at"/],
    ['an age column that holds no time', policy('    ageColumn: action\n'), 'ageColumn', /"action" is text; an age column is a timestamp or a date/],
    ['a max age of 0', policy('    maxAgeDays: 0\n'), 'maxAgeDays', /must be > 0/],
    ['a negative max age', policy('    maxAgeDays: -3\n'), 'maxAgeDays', /must be > 0/],
    ['a fractional max age', policy('    maxAgeDays: 1.5\n'), 'maxAgeDays', /whole number of days/],
    ['a bad cron', 'policies:\n  audit:\n    table: audit_events\n    schedule: "61 * * * *"\n', 'schedule', /is not a cron expression/],
    ['a cron that never fires', 'policies:\n  audit:\n    table: audit_events\n    schedule: "0 0 30 2 *"\n', 'schedule', /never fires/],
    ['an unknown time zone', policy('    timeZone: Mars/Olympus\n'), 'timeZone', /is not a time zone/],
    ['an anonymize strategy a column cannot take', policy('    action: anonymize\n    columns: { action: null }\n'), 'columns', /action: NOT NULL/],
    ['column strategies without anonymize', policy('    columns: { note: redact }\n'), 'columns', /need action: anonymize/],
    ['a tenant filter with tiers and ids', policy(`    tenants: { tiers: [free], ids: ["${TENANT}"] }\n`), 'tenants', /either tiers or ids/],
    ['a tenant id of the wrong type', policy('    tenants: { ids: [42] }\n'), 'tenants.ids.0', /"42" is not a tenant id/],
    ['an override with max age 0', policy(`    overrides:\n      ${TENANT}: { maxAgeDays: 0 }\n`), `overrides.${TENANT}.maxAgeDays`, /must be > 0/],
    ['an unknown key', policy('    maxAge: 30\n'), 'maxAge', /unknown key "maxAge"/],
  ])('refuses %s, naming the policy and the field', (_what, yaml, field, message) => {
    const error = problemsOf(yaml);
    expect(error.message).toMatch(new RegExp(`^Invalid retention config retention\\.yaml \\(1 problem\\):\\n {2}- retention\\.yaml:\\d+: policy "audit", field ${field.replace(/\./g, '\\.')}: `));
    expect(error.message).toMatch(message);
  });

  it('refuses a tier filter when the file names no tier column', () => {
    const error = problemsOf('policies:\n  audit:\n    table: audit_events\n    schedule: "0 3 * * *"\n    tenants: { tiers: [free] }\n');
    expect(error.message).toContain('policy "audit", field tenants.tiers: filtering by tier needs `tierColumn:`');
  });

  it('lists every problem at once, each at its line, and refuses a name that cannot be part of a workflow id', () => {
    const error = problemsOf('policies:\n  "Audit Events":\n    table: audit_events\n    schedule: "0 3 * * *"\n  old:\n    table: nope\n    maxAgeDays: 0\n    schedule: x\n');
    expect(error.problems.map((p) => [p.path.join('.'), p.line])).toEqual([
      ['policies.Audit Events', 2],
      ['policies.old.table', 6],
      ['policies.old.maxAgeDays', 7],
      ['policies.old.schedule', 8],
    ]);
  });

  it('reports a misspelt age column together with a malformed field of the same policy', () => {
    const error = problemsOf(policy('    ageColumn: occured_at\n    maxAgeDays: 0\n'));
    expect(error.problems.map((p) => p.path.join('.'))).toEqual(['policies.audit.ageColumn', 'policies.audit.maxAgeDays']);
  });

  it('reports a YAML syntax error with its line', () => {
    expect(problemsOf('policies:\n  audit: { table: audit_events\n').message).toMatch(/retention\.yaml:\d+: YAML syntax error/);
  });
});
