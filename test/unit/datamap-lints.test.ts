import { describe, expect, it } from 'vitest';
import { buildDataMap } from '../../src/datamap/build';
import { CatalogTable } from '../../src/datamap/catalog';
import { parseDatamapConfig } from '../../src/datamap/datamap.config';
import { DataMap, Lint } from '../../src/datamap/datamap.types';

interface TableSpec {
  /** column → type; a trailing `?` makes it nullable, a leading `~` TOAST-able */
  columns: Record<string, string>;
  pk?: string[];
  /** [columns, target table, target columns] */
  fks?: Array<[string[], string, string[]]>;
  indexes?: string[][];
  rls?: 'off' | 'no-policy' | 'on';
  replicaIdentity?: CatalogTable['replicaIdentity'];
}

function table(name: string, spec: TableSpec): CatalogTable {
  const pk = spec.pk ?? [];
  return {
    schema: 'public',
    name,
    columns: Object.entries(spec.columns).map(([column, type]) => ({
      name: column,
      type: type.replace(/^~/, '').replace(/\?$/, ''),
      nullable: type.endsWith('?'),
      toastable: type.startsWith('~'),
    })),
    primaryKey: pk,
    foreignKeys: (spec.fks ?? []).map(([from, to, toColumns]) => ({
      constraint: `${name}_${from.join('_')}_fkey`,
      from: { schema: 'public', name },
      to: { schema: 'public', name: to },
      columns: from.map((column, i) => ({ from: column, to: toColumns[i] })),
    })),
    indexes: [...(pk.length ? [pk] : []), ...(spec.indexes ?? [])].map((columns, i) => ({
      name: `${name}_${i}_idx`, columns, unique: i === 0 && pk.length > 0, replicaIdentity: false,
    })),
    rlsEnabled: (spec.rls ?? 'on') !== 'off',
    rlsForced: false,
    hasTenantPolicy: (spec.rls ?? 'on') === 'on',
    replicaIdentity: spec.replicaIdentity ?? 'default',
    estimatedRows: null,
  };
}

/** A clean org_id schema (no TOAST-able columns, so no TOAST warnings) plus the given tables. */
function orgsCatalog(...extra: CatalogTable[]): CatalogTable[] {
  return [
    table('organizations', { columns: { id: 'bigint' }, pk: ['id'] }),
    table('members', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['org_id', 'id'], fks: [[['org_id'], 'organizations', ['id']]] }),
    ...extra,
  ];
}

function lintsOf(catalog: CatalogTable[], configYaml?: string): Lint[] {
  const config = configYaml ? parseDatamapConfig(configYaml, 'test.yaml') : undefined;
  return buildDataMap(catalog, { tenantColumn: 'org_id', config }).lints;
}

const codes = (lints: Lint[]) => lints.map((l) => `${l.code} ${l.table.name}`);

describe('data map lints', () => {
  it('report nothing for a tenant-scoped, indexed, RLS-fenced schema', () => {
    expect(lintsOf(orgsCatalog())).toEqual([]);
  });

  it('name a tenant table without an index leading with the tenant column, with the CREATE INDEX that fixes it', () => {
    const events = table('events', { columns: { id: 'bigint', org_id: 'bigint' }, pk: ['id'], indexes: [['id', 'org_id']], replicaIdentity: 'full' });
    const [lint] = lintsOf(orgsCatalog(events));
    expect(lint).toMatchObject({ code: 'missing-tenant-index', severity: 'warning', table: { schema: 'public', name: 'events' } });
    expect(lint.fix).toBe('CREATE INDEX CONCURRENTLY "events_org_id_idx" ON "public"."events" ("org_id");');
    expect(lint.message).toContain('has no index leading with org_id');
  });

  it('flag a tenant table without RLS, and one whose policies ignore the tenant setting', () => {
    const apiKeys = table('api_keys', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['org_id', 'id'], rls: 'off' });
    const notes = table('notes', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['org_id', 'id'], rls: 'no-policy' });
    const lints = lintsOf(orgsCatalog(apiKeys, notes));
    expect(codes(lints)).toEqual(['missing-rls api_keys', 'rls-without-tenant-policy notes']);
    expect(lints[0].severity).toBe('error');
    expect(lints[0].fix).toBe(
      'ALTER TABLE "public"."api_keys" ENABLE ROW LEVEL SECURITY;\n' +
        'CREATE POLICY tenant_isolation ON "public"."api_keys" USING ("org_id" = NULLIF(current_setting(\'app.current_tenant_id\', true), \'\')::bigint);',
    );
  });

  it('flag a foreign key between tenant tables that leaves out the tenant column, and only that one', () => {
    const orders = table('orders', { columns: { org_id: 'bigint', id: 'bigint', member_id: 'bigint' }, pk: ['org_id', 'id'],
      fks: [[['org_id', 'member_id'], 'members', ['org_id', 'id']]] });
    const shipments = table('shipments', { columns: { org_id: 'bigint', id: 'bigint', order_id: 'bigint' }, pk: ['org_id', 'id'],
      fks: [[['order_id'], 'orders', ['id']]] });
    const lints = lintsOf(orgsCatalog(orders, shipments));
    expect(codes(lints)).toEqual(['cross-tenant-fk shipments']);
    expect(lints[0].message).toContain('Foreign key shipments_order_id_fkey (public.shipments → public.orders) does not include org_id');
    expect(lints[0].fix).toBe([
      'ALTER TABLE "public"."shipments" DROP CONSTRAINT "shipments_order_id_fkey",',
      '  ADD CONSTRAINT "shipments_order_id_fkey" FOREIGN KEY ("org_id", "order_id") REFERENCES "public"."orders" ("org_id", "id") NOT VALID;',
      'ALTER TABLE "public"."shipments" VALIDATE CONSTRAINT "shipments_order_id_fkey";',
    ].join('\n'));
  });

  it('add the unique index a tenant-scoped foreign key needs when the target lacks it', () => {
    const orders = table('orders', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['id'], indexes: [['org_id']], replicaIdentity: 'full' });
    const shipments = table('shipments', { columns: { org_id: 'bigint', id: 'bigint', order_id: 'bigint' }, pk: ['org_id', 'id'],
      fks: [[['order_id'], 'orders', ['id']]] });
    const lint = lintsOf(orgsCatalog(orders, shipments)).find((l) => l.code === 'cross-tenant-fk')!;
    expect(lint.fix?.split('\n')[0]).toBe('CREATE UNIQUE INDEX CONCURRENTLY "orders_org_id_id_key" ON "public"."orders" ("org_id", "id");');
  });

  it('call a child table not PITR-capable and give the backfill through its first hop', () => {
    const orders = table('orders', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['org_id', 'id'] });
    const lines = table('order_lines', { columns: { id: 'bigint', order_id: 'bigint' }, pk: ['id'], indexes: [['order_id']],
      fks: [[['order_id'], 'orders', ['id']]] });
    const lints = lintsOf(orgsCatalog(orders, lines));
    expect(codes(lints)).toEqual(['not-pitr-capable order_lines']);
    expect(lints[0].message).toContain('exported and erased through public.order_lines.order_id → public.orders.id');
    expect(lints[0].fix).toContain('UPDATE "public"."order_lines" AS c SET "org_id" = p."org_id" FROM "public"."orders" AS p WHERE c."order_id" = p."id";');
  });

  it('want an index on a child table\'s join column', () => {
    const lines = table('member_notes', { columns: { id: 'bigint', member_org: 'bigint', member_id: 'bigint' }, pk: ['id'],
      fks: [[['member_org', 'member_id'], 'members', ['org_id', 'id']]] });
    const lint = lintsOf(orgsCatalog(lines)).find((l) => l.code === 'missing-tenant-index')!;
    expect(lint.fix).toBe('CREATE INDEX CONCURRENTLY "member_notes_member_org_member_id_idx" ON "public"."member_notes" ("member_org", "member_id");');
  });

  it('flag replica identities that lose data for PITR', () => {
    const lints = lintsOf(orgsCatalog(
      table('a_nothing', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['org_id', 'id'], replicaIdentity: 'nothing' }),
      table('b_no_key', { columns: { org_id: 'bigint', id: 'bigint' }, indexes: [['org_id']] }),
      table('c_no_tenant', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['id'], indexes: [['org_id']] }),
      table('d_toast', { columns: { org_id: 'bigint', id: 'bigint', body: '~text', title: '~text' }, pk: ['org_id', 'id'] }),
      table('e_full', { columns: { org_id: 'bigint', id: 'bigint', body: '~text' }, pk: ['org_id', 'id'], replicaIdentity: 'full' }),
    ));
    expect(codes(lints)).toEqual([
      'replica-identity-nothing a_nothing',
      'replica-identity-no-key b_no_key',
      'replica-identity-without-tenant c_no_tenant',
      'replica-identity-toast d_toast',
    ]);
    expect(lints.map((l) => l.severity)).toEqual(['error', 'error', 'error', 'warning']);
    expect(lints[3].message).toContain('outside its replica identity (body, title)');
    expect(lints[3].fix).toBe('ALTER TABLE "public"."d_toast" REPLICA IDENTITY FULL;');
  });

  it('flag a table forced global that still references tenant data', () => {
    const stats = table('stats', { columns: { id: 'bigint', member_org: 'bigint', member_id: 'bigint' }, pk: ['id'],
      fks: [[['member_org', 'member_id'], 'members', ['org_id', 'id']]] });
    const lints = lintsOf(orgsCatalog(stats), 'tables: { stats: { kind: global } }');
    expect(codes(lints)).toEqual(['global-references-tenant-data stats']);
  });

  it('flag tables on a foreign-key cycle', () => {
    const a = table('a', { columns: { org_id: 'bigint', id: 'bigint', b_id: 'bigint' }, pk: ['org_id', 'id'], fks: [[['org_id', 'b_id'], 'b', ['org_id', 'id']]] });
    const b = table('b', { columns: { org_id: 'bigint', id: 'bigint', a_id: 'bigint' }, pk: ['org_id', 'id'], fks: [[['org_id', 'a_id'], 'a', ['org_id', 'id']]] });
    expect(codes(lintsOf(orgsCatalog(a, b)))).toEqual(['fk-cycle a']);
  });

  it('quote identifiers in fixes, whatever the table is called', () => {
    const weird = table('Weird "Name"', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['id'], replicaIdentity: 'full' });
    const lint = lintsOf(orgsCatalog(weird)).find((l) => l.code === 'missing-tenant-index')!;
    expect(lint.fix).toBe('CREATE INDEX CONCURRENTLY "Weird ""Name""_org_id_idx" ON "public"."Weird ""Name""" ("org_id");');
  });
});

describe('data map discovery (pure part)', () => {
  const build = (catalog: CatalogTable[], yaml?: string): DataMap =>
    buildDataMap(catalog, { tenantColumn: 'org_id', config: yaml ? parseDatamapConfig(yaml, 'test.yaml') : undefined });

  it('finds a child table several hops away and records its join path from the child up', () => {
    const orders = table('orders', { columns: { org_id: 'bigint', id: 'bigint' }, pk: ['org_id', 'id'] });
    const lines = table('order_lines', { columns: { id: 'bigint', order_id: 'bigint' }, pk: ['id'], fks: [[['order_id'], 'orders', ['id']]] });
    const notes = table('line_notes', { columns: { id: 'bigint', line_id: 'bigint' }, pk: ['id'], fks: [[['line_id'], 'order_lines', ['id']]] });
    const map = build(orgsCatalog(orders, lines, notes));
    const entry = map.tables.find((t) => t.name === 'line_notes')!;
    expect(entry.kind).toBe('child');
    expect(entry.joinPath.map((hop) => [hop.from.name, hop.to.name, hop.columns])).toEqual([
      ['line_notes', 'order_lines', [{ from: 'line_id', to: 'id' }]],
      ['order_lines', 'orders', [{ from: 'order_id', to: 'id' }]],
    ]);
    expect(map.deleteOrder.map((t) => t.name)).toEqual(['line_notes', 'members', 'order_lines', 'orders', 'organizations']);
  });

  it('takes the tenants table most tenant-column keys reference when none is called tenants', () => {
    const map = build(orgsCatalog(table('countries', { columns: { code: 'text' }, pk: ['code'] })));
    expect(map.tenantTable).toEqual({ schema: 'public', name: 'organizations', keyColumn: 'id', keyType: 'bigint' });
    expect(map.tables.find((t) => t.name === 'countries')).toMatchObject({ kind: 'global', erasure: null });
  });

  it('derives subject columns from foreign keys to the subject table', () => {
    const orders = table('orders', { columns: { org_id: 'bigint', id: 'bigint', buyer_id: 'bigint' }, pk: ['org_id', 'id'],
      fks: [[['org_id', 'buyer_id'], 'members', ['org_id', 'id']]] });
    const map = build(orgsCatalog(orders), 'subject: { table: members, identityColumns: [id] }');
    expect(map.tables.find((t) => t.name === 'orders')?.subjectColumns).toEqual(['buyer_id']);
    expect(map.tables.find((t) => t.name === 'members')?.subjectColumns).toEqual(['id']);
  });
});
