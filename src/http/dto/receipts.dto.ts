import { z } from 'zod';

const Jwk = z.object({
  kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(),
  use: z.literal('sig'), alg: z.literal('ES256'), purpose: z.enum(['receipts', 'checkpoints']).optional(),
});

export const JwksSchema = z.object({ keys: z.array(Jwk) });

export const ReceiptViewSchema = z.object({
  receiptId: z.uuid(),
  requestId: z.uuid(),
  tenantId: z.string(),
  logIndex: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  jws: z.string().describe('the evidence: a compact JWS (ES256, typ compliance-receipt+jws)'),
  // The signed payload's own schema is ReceiptContentSchema plus the log link; verifiers check the JWS, not this copy.
  receipt: z.looseObject({ receiptId: z.uuid(), requestId: z.uuid(), tenantId: z.string() }),
  createdAt: z.string(),
});

export const ReceiptListSchema = z.object({
  items: z.array(ReceiptViewSchema),
  next: z.number().int().nullable().describe('pass as `after` for the next page'),
});

export const ReceiptProofSchema = z.object({
  receiptId: z.uuid(),
  index: z.number().int().min(0),
  jws: z.string(),
  tlogProof: z.string().describe('c2sp.org/tlog-proof@v1 text'),
  inclusion: z.array(z.string()).describe('base64 hashes, RFC 9162'),
  checkpoint: z.string().describe('the signed note the proof is against'),
});

export const ConsistencyProofSchema = z.object({
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  proof: z.array(z.string()),
  fromCheckpoint: z.string().nullable(),
  toCheckpoint: z.string().nullable(),
});
