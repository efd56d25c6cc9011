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
});
