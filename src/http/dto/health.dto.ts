import { z } from 'zod';

export const HealthSchema = z.object({ status: z.literal('ok') });

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });

export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ postgres: Check, catalog: Check, temporal: Check, s3: Check, kms: Check }),
}).meta({
  example: { status: 'ready', checks: { postgres: { ok: true }, catalog: { ok: true }, temporal: { ok: true }, s3: { ok: true }, kms: { ok: true } } },
});
