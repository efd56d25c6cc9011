import { describe, expect, it } from 'vitest';
import { Column, DataMap, ForeignKey, TableEntry, TableKind } from '../../src/datamap/datamap.types';
import { DomainError } from '../../src/errors';
import { planExport } from '../../src/export/plan';

const TENANT = '6f1c0b1e-2d3a-4b5c-8d7e-9f0a1b2c3d4e';

function columns(...names: string[]): Column[] {
  return names.map((name) => ({ name, type: 'text', nullable: false, toastable: true }));
}

function fk(from: string, to: string, pairs: Array<[string, string]>, constraint = `${from}_${to}_fkey`): ForeignKey {
  return {
    constraint,
    from: { schema: 'public', name: from },
    to: { schema: 'public', name: to },
    columns: pairs.map(([f, t]) => ({ from: f, to: t })),
  };
}

function table(name: string, kind: TableKind, cols: string[], extra: Partial<TableEntry> = {}): TableEntry {
  return {
    schema: 'public', name, kind, primaryKey: ['id'], columns: columns(...cols), foreignKeys: [], joinPath: [],
    erasure: kind === 'global' ? null : { action: 'delete' }, subjectColumns: [], retention: null, rlsEnabled: true,
    rlsForced: false, hasTenantPolicy: true, hasTenantIndex: true, replicaIdentity: 'default', replicaIdentityColumns: ['id'],
    estimatedRows: 10, ...extra,
  };
}

/**
 * A small SaaS: users (the subject table), projects owned by users, project
 * files (a child table without tenant_id, reached through projects), user
 * sessions (a child of users), a global plans table and the tenants table.
 */
function demoMap(): DataMap {
  const projectsOwner = fk('projects', 'users', [['tenant_id', 'tenant_id'], ['owner_id', 'id']]);
  const filesProject = fk('project_files', 'projects', [['project_id', 'id']]);
  const sessionsUser = fk('user_sessions', 'users', [['user_id', 'id']]);
  return {
    tenantColumn: 'tenant_id',
    tenantTable: { schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' },
    subject: { table: { schema: 'public', name: 'users' }, identityColumns: ['id', 'email'] },
    tables: [
      table('plans', 'global', ['id', 'name']),
      table('tenants', 'tenants', ['id', 'name']),
      table('users', 'tenant', ['tenant_id', 'id', 'email'], { subjectColumns: ['id', 'email'] }),
      table('projects', 'tenant', ['tenant_id', 'id', 'owner_id'], { foreignKeys: [projectsOwner], subjectColumns: ['owner_id'] }),
      table('project_files', 'child', ['id', 'project_id', 'path'], { foreignKeys: [filesProject], joinPath: [filesProject, projectsOwner] }),
      table('user_sessions', 'child', ['id', 'user_id'], { foreignKeys: [sessionsUser], joinPath: [sessionsUser], subjectColumns: ['user_id'] }),
      table('audit', 'tenant', ['tenant_id', 'id', 'action']),
    ],
    deleteOrder: [],
    lints: [],
  };
}

const sqlOf = (copies: ReturnType<typeof planExport>, name: string) => copies.find((c) => c.table.name === name)?.sql;

describe('planExport, tenant scope', () => {
  const copies = planExport(demoMap(), { tenantId: TENANT }, { format: 'csv' });

  it('filters tenant tables on the tenant column with a quoted literal', () => {
    expect(sqlOf(copies, 'users')).toBe(
      `COPY (SELECT t."tenant_id", t."id", t."email" FROM "public"."users" AS t WHERE t."tenant_id" = '${TENANT}') TO STDOUT WITH (FORMAT csv, HEADER)`,
    );
  });

  it('exports the tenant’s own row of the tenants table by its key', () => {
    expect(sqlOf(copies, 'tenants')).toContain(`FROM "public"."tenants" AS t WHERE t."id" = '${TENANT}'`);
  });

  it('reaches child tables through their join path', () => {
    expect(sqlOf(copies, 'project_files')).toBe(
      'COPY (SELECT t."id", t."project_id", t."path" FROM "public"."project_files" AS t ' +
        'JOIN "public"."projects" AS p1 ON p1."id" = t."project_id" ' +
        'JOIN "public"."users" AS p2 ON p2."tenant_id" = p1."tenant_id" AND p2."id" = p1."owner_id" ' +
        `WHERE p2."tenant_id" = '${TENANT}') TO STDOUT WITH (FORMAT csv, HEADER)`,
    );
  });

  it('never exports global tables', () => {
    expect(copies.map((c) => c.table.name)).not.toContain('plans');
    expect(copies.map((c) => c.path)).toEqual([
      'tables/tenants.csv', 'tables/users.csv', 'tables/projects.csv', 'tables/project_files.csv', 'tables/user_sessions.csv', 'tables/audit.csv',
    ]);
  });

  it('emits JSON Lines through row_to_json in CSV mode with bytes JSON never contains', () => {
    const [users] = planExport(demoMap(), { tenantId: TENANT }, { format: 'jsonl', tables: ['users'] });
    expect(users.path).toBe('tables/users.jsonl');
    expect(users.sql).toBe(
      `COPY (SELECT row_to_json(r)::text FROM (SELECT t."tenant_id", t."id", t."email" FROM "public"."users" AS t WHERE t."tenant_id" = '${TENANT}') AS r) ` +
        `TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`,
    );
  });
});

describe('planExport, subject scope', () => {
  const hostile = `o'brien\\"; DROP TABLE users; --`;
  const copies = planExport(demoMap(), { tenantId: TENANT, subject: { column: 'email', value: hostile } }, { format: 'csv' });

  it('quotes a hostile subject value as one literal (E-string for the backslash, doubled quotes)', () => {
    expect(sqlOf(copies, 'users')).toContain(` AND t."email" =  E'o''brien\\\\"; DROP TABLE users; --')`);
  });

  it('follows foreign keys to the subject rows', () => {
    expect(sqlOf(copies, 'projects')).toContain(
      `WHERE t."tenant_id" = '${TENANT}' AND EXISTS (SELECT 1 FROM "public"."users" AS s WHERE s."tenant_id" = t."tenant_id" AND s."id" = t."owner_id" ` +
        `AND s."tenant_id" = '${TENANT}' AND s."email" =  E'o''brien\\\\"; DROP TABLE users; --')`,
    );
  });

  it('takes child rows hanging below the subject’s rows, and the subject’s own child rows', () => {
    expect(sqlOf(copies, 'project_files')).toContain(`WHERE p2."tenant_id" = '${TENANT}' AND EXISTS (SELECT 1 FROM "public"."users" AS s WHERE s."tenant_id" = p1."tenant_id" AND s."id" = p1."owner_id"`);
    expect(sqlOf(copies, 'user_sessions')).toContain(`AND EXISTS (SELECT 1 FROM "public"."users" AS s WHERE s."id" = t."user_id"`);
  });

  it('leaves out tables that do not reach the subject, and the tenants row', () => {
    expect(copies.map((c) => c.table.name)).toEqual(['users', 'projects', 'project_files', 'user_sessions']);
  });
});

describe('planExport, bad input', () => {
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error instanceof DomainError ? `${error.kind}:${error.code}` : String(error);
    }
    return 'no error';
  };

  it('rejects an unknown or global table in `tables`', () => {
    expect(codeOf(() => planExport(demoMap(), { tenantId: TENANT }, { format: 'csv', tables: ['users', 'nope'] }))).toBe('bad_input:unknown_table');
    expect(codeOf(() => planExport(demoMap(), { tenantId: TENANT }, { format: 'csv', tables: ['plans'] }))).toBe('bad_input:unknown_table');
  });

  it('accepts schema-qualified names and keeps the data map’s order', () => {
    const copies = planExport(demoMap(), { tenantId: TENANT }, { format: 'csv', tables: ['audit', 'public.users'] });
    expect(copies.map((c) => c.table.name)).toEqual(['users', 'audit']);
  });

  it('rejects a malformed tenant id and an unknown subject column', () => {
    expect(codeOf(() => planExport(demoMap(), { tenantId: `x' OR '1'='1` }, { format: 'csv' }))).toBe('bad_input:invalid_tenant_id');
    expect(codeOf(() => planExport(demoMap(), { tenantId: TENANT, subject: { column: 'full_name', value: 'x' } }, { format: 'csv' }))).toBe(
      'bad_input:unknown_subject_column',
    );
  });
});
