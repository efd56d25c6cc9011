import { z } from 'zod';
import { COLUMN_STRATEGIES } from '../../datamap/datamap.types';
import { RequestListSchema, RequestViewSchema } from '../../requests/request.dto';

const Erasure = z.union([
  z.object({ action: z.literal('delete') }),
  z.object({ action: z.literal('anonymize'), columns: z.record(z.string(), z.enum(COLUMN_STRATEGIES)) }),
]);

const TenantFilter = z.union([
  z.object({ tiers: z.array(z.string()), tierColumn: z.string() }),
  z.object({ ids: z.array(z.string()) }),
]).nullable().describe('null: every tenant');

/** A validated policy as GET /v1/retention-policies lists it (RetentionPolicy plus its next run). */
export const RetentionPolicySchema = z.object({
  name: z.string(),
  table: z.string().describe('`schema.name`'),
  ageColumn: z.string(),
  maxAgeDays: z.number().int().positive(),
  tenants: TenantFilter,
  action: Erasure,
  batch: z.object({ maxRows: z.number().int().positive().optional(), pauseMs: z.number().int().min(0).optional() }),
  schedule: z.object({ cron: z.string(), timeZone: z.string() }),
  catchUp: z.enum(['last', 'none']),
  concurrency: z.number().int().positive(),
  overrides: z.array(z.object({ tenantId: z.string(), maxAgeDays: z.number().int().positive(), reason: z.string().optional() })),
  nextRunAt: z.string().describe('ISO 8601 time of the next scheduled firing'),
});

const EXAMPLE_POLICY = {
  name: 'audit-events', table: 'public.audit_events', ageColumn: 'occurred_at', maxAgeDays: 365, tenants: null,
  action: { action: 'delete' }, batch: { maxRows: 5000 }, schedule: { cron: '0 3 * * *', timeZone: 'UTC' },
  catchUp: 'last', concurrency: 2, overrides: [{ tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f', maxAgeDays: 730, reason: 'contract §4.2' }],
  nextRunAt: '2025-01-02T03:00:00.000Z',
};

export const RetentionPolicyListSchema = z.object({ items: z.array(RetentionPolicySchema) }).meta({ example: { items: [EXAMPLE_POLICY] } });

const EXAMPLE_RUN = {
  id: '9d0f6a27-5c1e-4b7a-8f4e-2a6c1d3b5e70', kind: 'retention', tenantId: null, status: 'succeeded',
  progress: { stage: 'done', tenantsDone: 2, percent: 100 },
  result: {
    policy: 'audit-events', table: 'public.audit_events', asOf: '2025-01-01T03:00:00.000Z', dryRun: false, tenantsTotal: 2, rows: 812,
    tenants: [{ tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f', maxAgeDays: 365, cutoff: '2024-01-02T03:00:00.000Z', status: 'purged', rows: 812,
      receiptId: '2a1db3af-ee32-4ae1-8f07-e65a0b4add74', logIndex: 7 }],
    skipped: [{ tenantId: '5f0c2d7e-3b8a-4e19-9c64-0d1e2f3a4b5c', reason: 'legal_hold', detail: 'litigation hold: case 2025-CV-1142' }],
    receiptIds: ['2a1db3af-ee32-4ae1-8f07-e65a0b4add74'],
  },
  error: null, receiptId: null, createdAt: '2025-01-01T03:00:00.000Z', updatedAt: '2025-01-01T03:00:41.000Z',
};

/** Runs are requests of kind `retention`: their result is the run's per-tenant report. */
export const RetentionRunSchema = RequestViewSchema.meta({ example: EXAMPLE_RUN });
export const RetentionRunListSchema = RequestListSchema.meta({ example: { items: [EXAMPLE_RUN], next: null } });
