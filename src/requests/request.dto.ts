import { z } from 'zod';
import { REQUEST_KINDS, REQUEST_STATUSES } from './request.types';

const isoTime = z.string().describe('ISO 8601 time');

const EXAMPLE_REQUEST = {
  id: '6f1c3a52-1f0e-4a8e-9d53-0c6f4f1b2a11', kind: 'export', tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f',
  status: 'running', progress: { table: 'documents', rows: 1200, bytes: 482113 }, result: null, error: null,
  receiptId: null, createdAt: '2025-01-01T12:00:00.000Z', updatedAt: '2025-01-01T12:00:03.000Z',
};

/** A request as the API answers it (RequestView), for the OpenAPI document. */
export const RequestViewSchema = z.object({
  id: z.uuid(),
  kind: z.enum(REQUEST_KINDS),
  tenantId: z.string().nullable(),
  status: z.enum(REQUEST_STATUSES),
  progress: z.record(z.string(), z.unknown()).nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  receiptId: z.uuid().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
}).meta({ example: EXAMPLE_REQUEST });

export const RequestListSchema = z.object({
  items: z.array(RequestViewSchema),
  next: z.uuid().nullable().describe('pass as `after` for the next page; null on the last page'),
}).meta({ example: { items: [EXAMPLE_REQUEST], next: null } });
