import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataMap } from '../../src/datamap/build';
import { CatalogTable } from '../../src/datamap/catalog';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig, parseDatamapConfig } from '../../src/datamap/datamap.config';
import { DatamapConfigError } from '../../src/datamap/datamap.errors';

/** The error a call throws, so tests can read its problems. */
function configError(fn: () => unknown): DatamapConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DatamapConfigError) return error;
    throw error;
  }
  throw new Error('expected a DatamapConfigError');
}

const parse = (yaml: string) => configError(() => parseDatamapConfig(yaml, 'datamap.yaml'));

describe('data map config file', () => {
  it('reports a YAML syntax error with file, line and column', () => {
    const error = parse('tables:\n  invoices: { action: anonymize\nsubject: x\n');
    expect(error.message).toMatch(/^Invalid data map config datamap\.yaml \(1 problem\):\n {2}- datamap\.yaml:3:1: YAML syntax error: /);
  });

  it('rejects a key listed twice, naming its line', () => {
    expect(parse('tenantColumn: org_id\ntenantColumn: account_id\n').problems[0]).toMatchObject({ line: 2, message: expect.stringContaining('Map keys must be unique') });
  });

  it('rejects unknown keys at any depth, each at its own line', () => {
    const error = parse('tenantColum: org_id\ntables:\n  invoices:\n    actoin: delete\n');
    expect(error.problems).toEqual([
      { path: 'tenantColum', line: 1, message: 'unknown key "tenantColum"' },
      { path: 'tables.invoices.actoin', line: 4, message: 'unknown key "actoin"' },
    ]);
    expect(error.message).toContain('datamap.yaml:4: tables.invoices.actoin: unknown key "actoin"');
  });

  it('rejects a strategy it does not know, listing the ones it does', () => {
    const error = parse('tables:\n  invoices:\n    action: anonymize\n    columns:\n      billing_name: scramble\n');
    expect(error.message).toContain('datamap.yaml:5: tables.invoices.columns.billing_name: must be one of null, hash, redact, fake-email');
  });

  it('insists that anonymize names its columns and that columns come with anonymize', () => {
    const error = parse('tables:\n  invoices: { action: anonymize }\n  users: { columns: { email: hash } }\n');
    expect(error.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'tables.invoices.columns: action anonymize needs columns: { column: strategy }',
      'tables.users.columns: column strategies need action: anonymize',
    ]);
  });

  it('reads an unquoted null as the null strategy', () => {
    const file = parseDatamapConfig('tables:\n  invoices:\n    action: anonymize\n    columns: { billing_address: null }\n', 'x.yaml');
    expect(file.overrides.tables?.invoices.columns).toEqual({ billing_address: 'null' });
  });

  it('names a file it cannot read', () => {
    const missing = join(__dirname, 'no-such-datamap.yaml');
    expect(configError(() => loadDatamapConfig(missing)).message).toContain(`${missing}: cannot read the file: ENOENT`);
  });

  it('accepts the demo override file', () => {
    expect(loadDatamapConfig(DEMO_DATAMAP_CONFIG).overrides.tables?.invoices.action).toBe('anonymize');
  });
});

function table(name: string, columns: Record<string, string>, primaryKey: string[]): CatalogTable {
  return {
    schema: 'public', name, primaryKey, foreignKeys: [], indexes: [],
    columns: Object.entries(columns).map(([column, type]) => ({
      name: column, type: type.replace(/\?$/, ''), nullable: type.endsWith('?'), toastable: false,
    })),
    rlsEnabled: true, rlsForced: false, hasTenantPolicy: true, replicaIdentity: 'default', estimatedRows: null,
  };
}

const catalog = [
  table('tenants', { id: 'uuid' }, ['id']),
  table('plans', { id: 'text' }, ['id']),
  table('users', { tenant_id: 'uuid', id: 'bigint', email: 'text' }, ['tenant_id', 'id']),
  table('invoices', { tenant_id: 'uuid', id: 'bigint', billing_name: 'text', billing_address: 'text', amount_cents: 'bigint?', issued_at: 'timestamp with time zone' }, ['tenant_id', 'id']),
];
const check = (yaml: string) =>
  configError(() => buildDataMap(catalog, { tenantColumn: 'tenant_id', config: parseDatamapConfig(yaml, 'datamap.yaml') }));

describe('data map config against the database', () => {
  it('names an unknown table with its line and a likely intended one', () => {
    const error = check('tables:\n  invoicez: { action: delete }\n');
    expect(error.message).toContain('datamap.yaml:2: tables.invoicez: unknown table "invoicez" in schema public (did you mean "invoices"?)');
  });

  it('names an unknown column in column strategies, subject columns and retention', () => {
    const error = check([
      'subject: { table: users, identityColumns: [id, e_mail] }',
      'tables:',
      '  invoices:',
      '    action: anonymize',
      '    columns: { billing_nam: redact }',
      '    subjectColumns: [billed_user_id]',
      '    retention: { ageColumn: created_at, maxAgeDays: 30 }',
    ].join('\n'));
    expect(error.problems.map((p) => `${p.line} ${p.path}: ${p.message}`)).toEqual([
      '1 subject.identityColumns[1]: unknown column "e_mail" in public.users (did you mean "email"?)',
      '5 tables.invoices.columns.billing_nam: unknown column "billing_nam" in public.invoices (did you mean "billing_name"?)',
      '6 tables.invoices.subjectColumns[0]: unknown column "billed_user_id" in public.invoices',
      '7 tables.invoices.retention.ageColumn: unknown column "created_at" in public.invoices',
    ]);
  });

  it('refuses strategies the column cannot take', () => {
    const error = check('tables:\n  invoices:\n    action: anonymize\n    columns: { billing_address: null, amount_cents: hash, id: redact }\n');
    expect(error.problems.map((p) => p.message)).toEqual([
      '"billing_address" is NOT NULL, so strategy null would fail; use redact or hash, or drop the NOT NULL',
      'strategy hash writes text but "amount_cents" is bigint; use null',
      '"id" is part of the tenant scope or primary key; anonymizing it would orphan the row. Pick other columns',
    ]);
  });

  it('will not call a table with the tenant column global', () => {
    expect(check('tables:\n  users: { kind: global }\n').message).toContain(
      'datamap.yaml:2: tables.users.kind: the table has the tenant column "tenant_id" or lists the tenants; a global table must hold no tenant data',
    );
  });

  it('keeps erasure settings off global tables', () => {
    expect(check('tables:\n  plans: { action: delete }\n').problems[0].message).toMatch(/^a global table is never exported, erased or purged/);
  });

  it('wants a date or timestamp for retention', () => {
    expect(check('tables:\n  invoices: { retention: { ageColumn: billing_name, maxAgeDays: 30 } }\n').problems[0].message).toBe(
      'retention.ageColumn "billing_name" is text; it must be a date or timestamp',
    );
  });
});
