import { z } from 'zod';

const Jwk = z.object({
  kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(),
  use: z.literal('sig'), alg: z.literal('ES256'), purpose: z.enum(['receipts', 'checkpoints']).optional(),
});

export const JwksSchema = z.object({ keys: z.array(Jwk) }).meta({
  example: {
    keys: [
      { kty: 'EC', crv: 'P-256', x: 'EXj1guj680eDtj1iPAOz1Lf82uwvLMegTd-Lu7c5cDk', y: '-WVidbnTorSuPhxluv5gz75wkgl3dE0dnWEypQYg79Y',
        kid: 'XAEmNrPLTOAVi69Gu521iyU7LpxfVATOOgHq0C2ozdk', use: 'sig', alg: 'ES256', purpose: 'receipts' },
      { kty: 'EC', crv: 'P-256', x: 'b0SZ-mJMNs5306-fWe6diOHxc40joyvexebJkWjV6dg', y: 'WyaYb28-bUjxg1CWXRJYWjrm8BW9CPaHg5mRHBj477Y',
        kid: '9oLRmACYFf6Sn6IZsee7w41B8dL7I19x8XZnNhKa3A0', use: 'sig', alg: 'ES256', purpose: 'checkpoints' },
    ],
  },
});

/** An abbreviated receipt JWS and the checkpoint it is in, for the examples below. */
const EXAMPLE_JWS = 'eyJhbGciOiJFUzI1NiIsImtpZCI6IlhBRW1OclBMVE9BVmk2OUd1NTIxaXlVN0xweGZWQVRPT2dIcTBDMm96ZGsiLCJ0eXAiOiJjb21wbGlhbmNlLXJlY2VpcHQrandzIn0.eyJraW5kIjoiZXJhc3VyZSIsIuKApiI6IuKApiJ9.MEUCIQ…';
const EXAMPLE_CHECKPOINT = 'compliance-ops.local/receipts\n2\nnztcLNUvjbzs+kTv93oetkfZOnwXh1/WvpsHTHGkGs4=\n\n— compliance-ops.local/receipts t4800DBGAiEAkyDLSNt1DAe7OlarKMBrjBo2JZ5aFuV…\n';
const EXAMPLE_RECEIPT = {
  receiptId: '2a1db3af-ee32-4ae1-8f07-e65a0b4add74', requestId: '8e525e5a-bb64-486c-a547-fdadeb1342b6',
  tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f', logIndex: 1,
  sha256: '34b33adab70979851e66465778804a171ea9586f0ff6acdd639d1219f6010f04', jws: EXAMPLE_JWS,
  receipt: {
    receiptId: '2a1db3af-ee32-4ae1-8f07-e65a0b4add74', requestId: '8e525e5a-bb64-486c-a547-fdadeb1342b6',
    tenantId: '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f', kind: 'erasure',
    scope: { subjectHash: 'hmac-sha256:1c4dc06f3a2e4493d1e9f546ad239cbe5bb14ac6e5caba0e60b3a3478a56da10' },
  },
  createdAt: '2025-01-01T12:00:04.000Z',
};

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
}).meta({ example: EXAMPLE_RECEIPT });

export const ReceiptListSchema = z.object({
  items: z.array(ReceiptViewSchema),
  next: z.number().int().nullable().describe('pass as `after` for the next page'),
}).meta({ example: { items: [EXAMPLE_RECEIPT], next: 1 } });

export const ReceiptProofSchema = z.object({
  receiptId: z.uuid(),
  index: z.number().int().min(0),
  jws: z.string(),
  tlogProof: z.string().describe('c2sp.org/tlog-proof@v1 text'),
  inclusion: z.array(z.string()).describe('base64 hashes, RFC 9162'),
  checkpoint: z.string().describe('the signed note the proof is against'),
}).meta({
  example: {
    receiptId: EXAMPLE_RECEIPT.receiptId, index: 1, jws: EXAMPLE_JWS,
    tlogProof: 'c2sp.org/tlog-proof@v1\nindex 1\n7s0c3Jz0w0cHkq7xFv3yN8d5hOa2n8yW3bq1s9m8xkQ=\n\n' + EXAMPLE_CHECKPOINT,
    inclusion: ['7s0c3Jz0w0cHkq7xFv3yN8d5hOa2n8yW3bq1s9m8xkQ='],
    checkpoint: EXAMPLE_CHECKPOINT,
  },
});

export const ConsistencyProofSchema = z.object({
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  proof: z.array(z.string()),
  fromCheckpoint: z.string().nullable(),
  toCheckpoint: z.string().nullable(),
}).meta({
  example: { from: 1, to: 2, proof: ['7s0c3Jz0w0cHkq7xFv3yN8d5hOa2n8yW3bq1s9m8xkQ='], fromCheckpoint: null, toCheckpoint: EXAMPLE_CHECKPOINT },
});
