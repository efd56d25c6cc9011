import { describe, expect, it } from 'vitest';
import { Column, DataMap, ForeignKey, TableEntry, TableKind } from '../../src/datamap/datamap.types';
import { computeDeleteOrder } from '../../src/datamap/delete-order';
import { planPurge } from '../../src/erasure/plan';
import { PurgePlan, PurgeTarget } from '../../src/erasure/erasure.types';

const TENANT = '6f1c0b1e-2d3a-4b5c-8d7e-9f0a1b2c3d4e';

function fk(from: string, to: string, pairs: Array<[string, string]>): ForeignKey {
  return { constraint: `${from}_${to}_fkey`, from: { schema: 'public', name: from }, to: { schema: 'public', name: to }, columns: pairs.map(([f, t]) => ({ from: f, to: t })) };
}

function table(name: string, kind: TableKind, cols: string[], extra: Partial<TableEntry> = {}): TableEntry {
  const columns: Column[] = cols.map((c) => ({ name: c, type: c.endsWith('_id') || c === 'id' ? 'bigint' : 'text', nullable: c === 'billed_user_id', toastable: false }));
  return {
    schema: 'public', name, kind, primaryKey: kind === 'tenant' ? ['tenant_id', 'id'] : ['id'], columns, foreignKeys: [], joinPath: [],
    erasure: kind === 'global' ? null : { action: 'delete' }, subjectColumns: [], retention: null, rlsEnabled: true, rlsForced: false,
    hasTenantPolicy: true, hasTenantIndex: true, replicaIdentity: 'default', replicaIdentityColumns: [], estimatedRows: 10, ...extra,
  };
}

/**
 * The demo schema in miniature, plus a child table without the tenant column
 * (attachments, reached through documents) and a table the subject never
 * reaches (labels).
 */
function demoMap(): DataMap {
  const tenantOf = (t: string) => fk(t, 'tenants', [['tenant_id', 'id']]);
  const toUser = (t: string, column: string) => fk(t, 'users', [['tenant_id', 'tenant_id'], [column, 'id']]);
  const attachmentsDoc = fk('attachments', 'documents', [['document_id', 'id']]);
  const tables = [
    table('plans', 'global', ['id', 'name']),
    table('tenants', 'tenants', ['id', 'name']),
    table('users', 'tenant', ['tenant_id', 'id', 'email'], { foreignKeys: [tenantOf('users')], subjectColumns: ['id', 'email'] }),
    table('projects', 'tenant', ['tenant_id', 'id', 'owner_id'], { foreignKeys: [tenantOf('projects'), toUser('projects', 'owner_id')], subjectColumns: ['owner_id'] }),
    table('documents', 'tenant', ['tenant_id', 'id', 'project_id', 'author_id', 'updated_at'], {
      foreignKeys: [tenantOf('documents'), toUser('documents', 'author_id'), fk('documents', 'projects', [['tenant_id', 'tenant_id'], ['project_id', 'id']])],
      subjectColumns: ['author_id'],
    }),
    table('attachments', 'child', ['id', 'document_id', 'path'], { foreignKeys: [attachmentsDoc], joinPath: [attachmentsDoc] }),
    table('invoices', 'tenant', ['tenant_id', 'id', 'billed_user_id', 'billing_name', 'billing_email'], {
      foreignKeys: [tenantOf('invoices'), toUser('invoices', 'billed_user_id')], subjectColumns: ['billed_user_id'],
      erasure: { action: 'anonymize', columns: { billed_user_id: 'null', billing_name: 'redact', billing_email: 'hash' } },
    }),
    table('labels', 'tenant', ['tenant_id', 'id', 'text'], { foreignKeys: [tenantOf('labels')] }),
    table('audit_events', 'tenant', ['tenant_id', 'id', 'actor_id', 'occurred_at'], {
      foreignKeys: [tenantOf('audit_events'), toUser('audit_events', 'actor_id')], subjectColumns: ['actor_id'], retention: { ageColumn: 'occurred_at', maxAgeDays: 365 },
    }),
  ];
  return {
    tenantColumn: 'tenant_id',
    tenantTable: { schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' },
    subject: { table: { schema: 'public', name: 'users' }, identityColumns: ['id', 'email'] },
    tables,
    deleteOrder: computeDeleteOrder(tables.filter((t) => t.kind !== 'global')).order,
    lints: [],
  };
}

const stepOf = (plan: PurgePlan, name: string) => plan.steps.find((s) => s.table.name === name);
const names = (plan: PurgePlan) => plan.steps.map((s) => `${s.table.name}:${s.action}`);

describe('planPurge, tenant scope', () => {
  const plan = planPurge(demoMap(), { kind: 'tenant', tenantId: TENANT });

  it('visits every tenant table children first, never a global one, and the tenants row last', () => {
    expect(names(plan)).toEqual([
      'attachments:delete', 'audit_events:delete', 'documents:delete', 'invoices:anonymize', 'labels:delete', 'projects:delete', 'users:delete', 'tenants:delete',
    ]);
  });

  it('deletes by primary key through a LIMITed subquery, binding the tenant and the batch size', () => {
    expect(stepOf(plan, 'labels')!.batch).toEqual({
      sql: [
        'DELETE FROM "public"."labels"',
        'WHERE ("tenant_id", "id") IN (',
        '  SELECT t1."tenant_id", t1."id" FROM "public"."labels" AS t1',
        '  WHERE t1."tenant_id" = $1',
        '  LIMIT $2::integer)',
      ].join('\n'),
      params: ['tenantId', 'batchRows'],
    });
  });

  it('reaches a child table without the tenant column through its join path', () => {
    expect(stepOf(plan, 'attachments')!.batch.sql).toContain(
      'WHERE EXISTS (SELECT 1 FROM "public"."documents" AS t2 WHERE t1."document_id" = t2."id" AND t2."tenant_id" = $1)');
  });

  it('anonymizes kept rows idempotently: only rows not yet anonymized, the hash keyed by bound pads', () => {
    const { sql, params } = stepOf(plan, 'invoices')!.batch;
    expect(sql).toContain(`SET "billed_user_id" = NULL, "billing_name" = '[redacted]', "billing_email" = 'hmac:' || encode(sha256($3::bytea || sha256($4::bytea || convert_to("billing_email"::text, 'UTF8'))), 'hex')`);
    expect(sql).toContain(`AND NOT (t1."billed_user_id" IS NULL AND t1."billing_name" IS NOT DISTINCT FROM '[redacted]' AND (t1."billing_email" IS NULL OR t1."billing_email" ~ '^hmac:[0-9a-f]{64}$'))`);
    expect(params).toEqual(['tenantId', 'batchRows', 'hmacOuter', 'hmacInner']);
    expect(plan.needsHashKey).toBe(true);
  });

  it('keeps the tenants row that kept invoices still reference, and counts it as retained', () => {
    expect(stepOf(plan, 'tenants')!.batch.sql).toContain('AND NOT EXISTS (SELECT 1 FROM "public"."invoices" AS t2 WHERE t2."tenant_id" = t1."id")');
    // Invoices null billed_user_id, so they do not hold users back.
    expect(stepOf(plan, 'users')!.batch.sql).not.toContain('invoices');
    expect(plan.census.sql).toMatch(/\(SELECT count\(\*\) FROM "public"."tenants" AS t\d+ WHERE t\d+."id" = \$1 AND EXISTS \(SELECT 1 FROM "public"."invoices"/);
  });
});

describe('planPurge, subject scope', () => {
  const target: PurgeTarget = { kind: 'subject', tenantId: TENANT, subject: { column: 'email', value: `o'brien@example.com` } };
  const plan = planPurge(demoMap(), target);

  it('takes the tables that reach the subject, through subject columns or foreign keys, and no other', () => {
    expect(names(plan)).toEqual(['attachments:delete', 'audit_events:delete', 'documents:delete', 'invoices:anonymize', 'projects:delete', 'users:delete']);
  });

  it('matches rows against the resolved subject keys, never the value itself', () => {
    expect(stepOf(plan, 'audit_events')!.batch.sql).toContain(
      'AND (t1."tenant_id", t1."actor_id") IN (SELECT t2."tenant_id", t2."id" FROM jsonb_populate_recordset(NULL::"public"."users", $2::jsonb) AS t2)');
    for (const step of plan.steps) expect(step.batch.sql).not.toContain('brien');
    expect(plan.needsSubjectKeys).toBe(true);
  });

  it('deletes documents in the subject\'s projects too (the key to the project would block its delete), parenthesized', () => {
    const sql = stepOf(plan, 'documents')!.batch.sql;
    expect(sql).toContain('WHERE t1."tenant_id" = $1 AND ((t1."tenant_id", t1."author_id") IN (');
    expect(sql).toContain('OR EXISTS (SELECT 1 FROM "public"."projects" AS t3 WHERE t1."tenant_id" = t3."tenant_id" AND t1."project_id" = t3."id" AND (t3."tenant_id", t3."owner_id") IN (');
  });

  it('anonymizes only invoices billed to the subject', () => {
    const sql = stepOf(plan, 'invoices')!.batch.sql;
    expect(sql).toContain('(t1."tenant_id", t1."billed_user_id") IN (');
    expect(sql).not.toContain('EXISTS');
  });
});

describe('planPurge, retention scope', () => {
  it('deletes one table\'s rows older than the cutoff, keeping rows something still references', () => {
    const plan = planPurge(demoMap(), { kind: 'retention', tenantId: TENANT, table: 'documents', ageColumn: 'updated_at', cutoff: '2025-01-01T00:00:00.123456Z' });
    expect(names(plan)).toEqual(['documents:delete']);
    const { sql, params } = plan.steps[0].batch;
    expect(sql).toContain('WHERE t1."tenant_id" = $1 AND t1."updated_at" < $2 AND NOT EXISTS (SELECT 1 FROM "public"."attachments" AS t2 WHERE t2."document_id" = t1."id")');
    expect(params).toEqual(['tenantId', 'cutoff', 'batchRows']);
  });

  it('uses the data map\'s age column when none is given', () => {
    const plan = planPurge(demoMap(), { kind: 'retention', tenantId: TENANT, table: 'audit_events', cutoff: '2025-01-01T00:00:00Z' });
    expect(plan.steps[0].batch.sql).toContain('t1."occurred_at" < $2');
  });
});

describe('planPurge refuses bad input before any row is touched', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return undefined;
  };

  it('names the problem', () => {
    const map = demoMap();
    expect(code(() => planPurge(map, { kind: 'tenant', tenantId: '42' }))).toBe('invalid_tenant_id');
    expect(code(() => planPurge(map, { kind: 'subject', tenantId: TENANT, subject: { column: 'full_name', value: 'x' } }))).toBe('unknown_subject_column');
    expect(code(() => planPurge(map, { kind: 'retention', tenantId: TENANT, table: 'plans', cutoff: '2025-01-01' }))).toBe('unknown_table');
    expect(code(() => planPurge(map, { kind: 'retention', tenantId: TENANT, table: 'labels', cutoff: '2025-01-01' }))).toBe('unknown_age_column');
    expect(code(() => planPurge(map, { kind: 'retention', tenantId: TENANT, table: 'audit_events', cutoff: 'last tuesday' }))).toBe('invalid_cutoff');
  });

  it('rejects strategies a column cannot hold', () => {
    const map = demoMap();
    const invoices = map.tables.find((t) => t.name === 'invoices')!;
    invoices.erasure = { action: 'anonymize', columns: { billing_name: 'null', billed_user_id: 'hash', nope: 'redact' } };
    expect(() => planPurge(map, { kind: 'tenant', tenantId: TENANT })).toThrow(/billing_name: NOT NULL.*billed_user_id: bigint cannot hold a hash.*nope: no such column/);
  });

  it('quotes identifiers whatever they hold', () => {
    const map = demoMap();
    map.tables.find((t) => t.name === 'labels')!.name = 'la"bels; DROP TABLE x';
    map.deleteOrder = computeDeleteOrder(map.tables.filter((t) => t.kind !== 'global')).order;
    const plan = planPurge(map, { kind: 'tenant', tenantId: TENANT });
    expect(plan.steps.map((s) => s.batch.sql).join('\n')).toContain('DELETE FROM "public"."la""bels; DROP TABLE x"');
  });
});
