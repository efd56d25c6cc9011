import { z } from 'zod';

/** Every error the API answers, whatever raised it (src/http/error.filter.ts). */
export const ErrorBodySchema = z.object({
  code: z.string().describe('stable, snake_case: safe to match on'),
  message: z.string().describe('what went wrong and what to do; never a stack, SQL or secret'),
  details: z.record(z.string(), z.unknown()).optional(),
  requestId: z.string().describe('the x-request-id of this call; the log has the detail under it'),
}).meta({ example: { code: 'tenant_not_found', message: 'no such tenant', requestId: '0b1d6c5e-2f0e-4f43-9a6e-6f0d2a7d8c11' } });
