import { z } from 'zod';

export const LegalHoldSchema = z.object({
  tenantId: z.string(),
  reason: z.string(),
  placedBy: z.string(),
  placedAt: z.string().describe('ISO 8601 time'),
}).meta({
  example: { tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f', reason: 'litigation hold: case 2025-CV-1142', placedBy: 'alice@support', placedAt: '2025-01-01T12:00:00.000Z' },
});
