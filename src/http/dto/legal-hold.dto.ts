import { z } from 'zod';

export const LegalHoldSchema = z.object({
  tenantId: z.string(),
  reason: z.string(),
  placedBy: z.string(),
  placedAt: z.string().describe('ISO 8601 time'),
});
