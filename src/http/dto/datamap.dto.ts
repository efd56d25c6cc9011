import { z } from 'zod';

const TableRef = z.looseObject({ schema: z.string(), name: z.string() });

/** The data map's outline; tables carry more than listed here (columns, keys, RLS facts): see datamap.types.ts. */
export const DataMapSchema = z.object({
  tenantColumn: z.string(),
  tenantTable: z.looseObject({ schema: z.string(), name: z.string(), keyColumn: z.string(), keyType: z.enum(['uuid', 'bigint', 'text']) }),
  subject: z.looseObject({ table: TableRef, identityColumns: z.array(z.string()) }).nullable(),
  tables: z.array(z.looseObject({ schema: z.string(), name: z.string(), kind: z.enum(['tenant', 'child', 'global', 'tenants']) })),
  deleteOrder: z.array(TableRef),
  lints: z.array(z.looseObject({ code: z.string(), severity: z.enum(['error', 'warning', 'info']), table: TableRef, message: z.string() })),
}).meta({
  example: {
    tenantColumn: 'tenant_id',
    tenantTable: { schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' },
    subject: { table: { schema: 'public', name: 'users' }, identityColumns: ['id', 'email'] },
    tables: [
      { schema: 'public', name: 'users', kind: 'tenant', primaryKey: ['tenant_id', 'id'], erasure: { action: 'delete' }, estimatedRows: 1200 },
      { schema: 'public', name: 'invoices', kind: 'tenant', primaryKey: ['tenant_id', 'id'],
        erasure: { action: 'anonymize', columns: { billing_email: 'fake-email', billing_name: 'redact' } }, estimatedRows: 5400 },
      { schema: 'public', name: 'plans', kind: 'global', primaryKey: ['id'], erasure: null, estimatedRows: 4 },
    ],
    deleteOrder: [{ schema: 'public', name: 'invoices' }, { schema: 'public', name: 'users' }],
    lints: [{ code: 'missing_tenant_index', severity: 'warning', table: { schema: 'public', name: 'comments' },
      message: 'no index starts with tenant_id: erasure and export scan the whole table' }],
  },
});
