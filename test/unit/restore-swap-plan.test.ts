import { describe, expect, it } from 'vitest';
import { Column, DataMap, ForeignKey, TableEntry, TableKind } from '../../src/datamap/datamap.types';
import { computeDeleteOrder } from '../../src/datamap/delete-order';
import { swapOrder } from '../../src/restore/swap';
import { diffQuery, keyColumns, keyedStatements } from '../../src/restore/swap-diff';

function fk(from: string, to: string, pairs: Array<[string, string]>): ForeignKey {
  return { constraint: `${from}_${to}_fkey`, from: { schema: 'public', name: from }, to: { schema: 'public', name: to }, columns: pairs.map(([f, t]) => ({ from: f, to: t })) };
}

function table(name: string, kind: TableKind, cols: Array<[string, string]>, foreignKeys: ForeignKey[] = []): TableEntry {
  const columns: Column[] = cols.map(([c, type]) => ({ name: c, type, nullable: false, toastable: type === 'text' }));
  return {
    schema: 'public', name, kind, primaryKey: kind === 'tenant' ? ['tenant_id', 'id'] : ['id'], columns, foreignKeys, joinPath: [],
    erasure: kind === 'global' ? null : { action: 'delete' }, subjectColumns: [], retention: null, rlsEnabled: true, rlsForced: false,
    hasTenantPolicy: true, hasTenantIndex: true, replicaIdentity: 'default', replicaIdentityColumns: [], estimatedRows: 10,
  };
}

/** tenants ← users ← projects ← documents ← comments (and comments → users), listed out of order on purpose. */
function map(): DataMap {
  const tenantOf = (t: string) => fk(t, 'tenants', [['tenant_id', 'id']]);
  const scoped = (from: string, to: string, column: string) => fk(from, to, [['tenant_id', 'tenant_id'], [column, 'id']]);
  const key: Array<[string, string]> = [['tenant_id', 'uuid'], ['id', 'bigint']];
  const tables = [
    table('comments', 'tenant', [...key, ['document_id', 'bigint'], ['author_id', 'bigint'], ['body', 'text']],
      [tenantOf('comments'), scoped('comments', 'documents', 'document_id'), scoped('comments', 'users', 'author_id')]),
    table('plans', 'global', [['id', 'text']]),
    table('documents', 'tenant', [...key, ['project_id', 'bigint'], ['title', 'text']], [tenantOf('documents'), scoped('documents', 'projects', 'project_id')]),
    table('users', 'tenant', [...key, ['email', 'text']], [tenantOf('users')]),
    table('tenants', 'tenants', [['id', 'uuid'], ['name', 'text']]),
    table('projects', 'tenant', [...key, ['owner_id', 'bigint']], [tenantOf('projects'), scoped('projects', 'users', 'owner_id')]),
  ];
  return {
    tenantColumn: 'tenant_id',
    tenantTable: { schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' },
    subject: null,
    tables,
    deleteOrder: computeDeleteOrder(tables.filter((t) => t.kind !== 'global')).order,
    lints: [],
  };
}

describe('swap by difference: order and statements', () => {
  it('writes parents before the rows that reference them and deletes children before their parents; the tenants row apart', () => {
    const order = swapOrder(map());
    const at = (list: TableEntry[], name: string) => list.findIndex((t) => t.name === name);
    expect(order.tenantsTable?.name).toBe('tenants');
    expect(order.parentsFirst.map((t) => t.name)).not.toContain('tenants');
    expect(order.parentsFirst.map((t) => t.name).sort()).toEqual(['comments', 'documents', 'projects', 'users']);
    for (const t of order.parentsFirst) {
      for (const parent of t.foreignKeys.map((f) => f.to.name).filter((n) => n !== 'tenants')) {
        expect(at(order.parentsFirst, parent), `${parent} before ${t.name} (inserts, updates)`).toBeLessThan(at(order.parentsFirst, t.name));
        expect(at(order.childrenFirst, t.name), `${t.name} before ${parent} (deletes)`).toBeLessThan(at(order.childrenFirst, parent));
      }
    }
  });

  it('finds differing rows in one pass: missing, extra, or not byte-identical', () => {
    const comments = map().tables.find((t) => t.name === 'comments')!;
    const sql = diffQuery(comments, 'tenant_id', 'restore_x').replace(/\s+/g, ' ');
    // Only the live columns on both sides: a staged column the live table has dropped is not compared.
    const columns = '"tenant_id", "id", "document_id", "author_id", "body"';
    expect(sql).toContain(`FROM (SELECT ${columns} FROM "public"."comments" WHERE "tenant_id" = $1) l FULL JOIN (SELECT ${columns} FROM "restore_x"."comments") s ON l."tenant_id" = s."tenant_id" AND l."id" = s."id"`);
    expect(sql).toContain(`WHERE l."tenant_id" IS NULL OR s."tenant_id" IS NULL OR NOT (l *= s)`);
    expect(sql).toContain(`CASE WHEN l."tenant_id" IS NULL THEN 'insert' WHEN s."tenant_id" IS NULL THEN 'delete' ELSE 'update' END`);
    expect(sql).toContain('coalesce(s."tenant_id", l."tenant_id")::text AS k0, coalesce(s."id", l."id")::text AS k1');
    expect(sql).toMatch(/LIMIT \$2$/);
  });

  it('writes rows by key, keys cast to their column types, the tenant fenced, only non-key columns updated', () => {
    const documents = map().tables.find((t) => t.name === 'documents')!;
    const sql = keyedStatements(documents, 'tenant_id', 'restore_x');
    const flat = (s: string | null) => (s ?? '').replace(/\s+/g, ' ');
    expect(flat(sql.insert)).toContain('JOIN unnest($1::text[], $2::text[]) AS k(c0, c1) ON s."tenant_id" = k.c0::uuid AND s."id" = k.c1::bigint WHERE s."tenant_id" = $3');
    expect(flat(sql.insert)).toContain('INSERT INTO "public"."documents" ("tenant_id", "id", "project_id", "title") OVERRIDING SYSTEM VALUE');
    expect(flat(sql.update)).toContain('SET "project_id" = s."project_id", "title" = s."title" FROM');
    expect(flat(sql.update)).toContain('WHERE l."tenant_id" = s."tenant_id" AND l."id" = s."id" AND l."tenant_id" = $3');
    expect(flat(sql.delete)).toBe('DELETE FROM "public"."documents" l USING unnest($1::text[], $2::text[]) AS k(c0, c1) WHERE l."tenant_id" = k.c0::uuid AND l."id" = k.c1::bigint AND l."tenant_id" = $3');
    expect(keyColumns([{ change: 'delete', key: ['t', '1'] }, { change: 'delete', key: ['t', '2'] }], 2)).toEqual([['t', 't'], ['1', '2']]);
  });

  it('has nothing to update in a table whose every column is its key', () => {
    const link = table('links', 'tenant', [['tenant_id', 'uuid'], ['id', 'bigint']]);
    expect(keyedStatements(link, 'tenant_id', 'restore_x').update).toBeNull();
  });
});
