import { z } from 'zod';

const EXAMPLE_EVENT = {
  id: '42', at: '2025-01-01T12:00:00.000Z', requestId: '6f1c3a52-1f0e-4a8e-9d53-0c6f4f1b2a11',
  tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f', kind: 'export', actor: 'alice@support', event: 'requested',
  fromStatus: null, toStatus: 'queued', details: { from: '10.0.0.7', params: { format: 'csv' } },
};

export const AuditEventSchema = z.object({
  id: z.string().regex(/^\d+$/),
  at: z.string().describe('ISO 8601 time'),
  requestId: z.uuid().nullable(),
  tenantId: z.string().nullable(),
  kind: z.string().nullable(),
  actor: z.string().describe("the caller's token subject, `api-key:<id>`, or `workflow`"),
  event: z.string().describe('`requested`, `status`, `cancel_requested`, `legal_hold_placed`, `legal_hold_lifted`…'),
  fromStatus: z.string().nullable(),
  toStatus: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).describe('`from`: the caller\'s address; the parameters, never a subject\'s value'),
}).meta({ example: EXAMPLE_EVENT });

export const AuditListSchema = z.object({
  items: z.array(AuditEventSchema),
  next: z.string().nullable().describe('pass as `after` for the next page; null when this page is the end for now'),
}).meta({ example: { items: [EXAMPLE_EVENT], next: '42' } });
