import { z } from 'zod';

/**
 * Glossary
 * - receipt: signed evidence that an erasure or retention purge happened, laid
 *   out after NIST SP 800-88's certificate of sanitization (who, what, scope,
 *   method, when, verification, what remains). Never holds personal data: a
 *   subject appears only as a keyed hash (./subject-hash.ts).
 * - log: the append-only Merkle tree (RFC 6962/9162) whose leaves are receipts,
 *   in order of issue; a receipt's index is its leaf position.
 * - leaf: the receipt's compact JWS, as ASCII bytes. Hashing the JWS rather
 *   than the payload commits the log to the exact signed object an auditor
 *   holds, signature included, so two JWSs of one payload cannot both pass.
 * - digest: SHA-256 of the compact JWS (hex); each receipt names its
 *   predecessor's, so the receipts also form a hash chain a person can walk.
 * - checkpoint: a signed note (C2SP tlog-checkpoint) fixing the tree size and
 *   root hash at one moment; consistency proofs link two checkpoints.
 */

/** Pinned by every verifier: a JWS of another type is never taken for a receipt. */
export const RECEIPT_JWS_TYPE = 'compliance-receipt+jws';
export const RECEIPT_FORMAT = 'compliance-ops.receipt';
export const RECEIPT_FORMAT_VERSION = 1;

export const RECEIPT_KINDS = ['erasure', 'retention'] as const;
export const ERASURE_METHODS = ['delete', 'anonymize', 'cryptographic-erase'] as const;
/** What can outlive an erasure for a while, and what we did about each. */
export const REMAINDER_KINDS = ['dead-tuples', 'wal', 'wal-archive', 'snapshots', 'backups', 'exports', 'restore-staging'] as const;
export const REMAINDER_STATUSES = ['shredded', 'retained', 'expires'] as const;

const isoTime = z.iso.datetime({ offset: true });
const rows = z.number().int().min(0);
const name = z.string().min(1).max(200);
const note = z.string().min(1).max(1000);

/** `hmac-sha256:<64 hex>`, as `hashSubject` makes it. */
export const SubjectHash = z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/, 'a subject is only ever named by hashSubject()');

const Scope = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tenant') }),
  z.strictObject({ type: z.literal('subject'), subjectHashes: z.array(SubjectHash).min(1).max(100) }),
]);

const TableAction = z.strictObject({
  table: name,
  method: z.enum(ERASURE_METHODS),
  /** rows deleted or anonymized by this request (not rows that merely existed) */
  rows,
  /** anonymize only: each column and its strategy (e.g. null, hash, redact) */
  columns: z.array(z.strictObject({ column: name, strategy: name })).optional(),
});

const Verification = z.strictObject({
  /** e.g. `row-count-in-fresh-snapshot` */
  method: name,
  result: z.enum(['passed', 'failed']),
  /** the snapshot the counts were read in (`pg_current_snapshot()`), so the check can be placed in time */
  snapshot: name,
  checkedAt: isoTime,
  tables: z.array(z.strictObject({ table: name, rowsRemaining: rows })),
});

const Remainder = z.strictObject({
  what: z.enum(REMAINDER_KINDS),
  /** shredded: destroyed now; retained: kept on purpose (reason says why); expires: removed later by another process */
  status: z.enum(REMAINDER_STATUSES),
  /** a time (ISO 8601) or the event that removes it, e.g. `next VACUUM of each table` */
  until: z.string().min(1).max(200).nullable(),
  objects: rows.optional(),
  reason: note.optional(),
});

/**
 * What the caller (an erasure or retention activity) knows. Validated before
 * signing: whatever is signed is evidence forever, so it must be right first.
 */
export const ReceiptContentSchema = z.strictObject({
  requestId: z.uuid(),
  kind: z.enum(RECEIPT_KINDS),
  tenantId: z.string().min(1).max(128),
  scope: Scope,
  policy: z.strictObject({
    reason: note,
    /** e.g. `GDPR Art. 17(1)(b)` */
    legalBasis: name.optional(),
    /** retention: the policy's name */
    retentionPolicy: name.optional(),
    graceSeconds: rows.optional(),
  }),
  /** the token's role and `sub`: an account id, never a name or e-mail address */
  requestedBy: z.strictObject({ role: name, subject: name }),
  tables: z.array(TableAction),
  timestamps: z.strictObject({ requestedAt: isoTime, startedAt: isoTime, completedAt: isoTime }),
  verification: Verification,
  remains: z.array(Remainder),
  notCovered: z.array(z.strictObject({ table: name, reason: note })),
  legalHolds: z.array(z.strictObject({ reason: note, placedAt: isoTime, liftedAt: isoTime.optional() })),
  workflow: z.strictObject({ id: name, runId: name.optional() }),
});

export type ReceiptContent = z.infer<typeof ReceiptContentSchema>;

/** The log position a receipt was signed with, and the receipt before it. */
export interface ReceiptLogLink {
  origin: string;
  index: number;
  /** null only for the first receipt of the log */
  previous: { index: number; sha256: string } | null;
}

/** The signed payload: the content plus what the service adds at issue time. */
export interface Receipt extends ReceiptContent {
  format: typeof RECEIPT_FORMAT;
  version: typeof RECEIPT_FORMAT_VERSION;
  receiptId: string;
  issuedAt: string;
  tool: { name: string; version: string };
  log: ReceiptLogLink;
}

/** What `ReceiptsService.issue` answers; the same for a repeated call. */
export interface IssuedReceipt {
  receiptId: string;
  jws: string;
  logIndex: number;
}

/** A receipt as the API serves it: the JWS is the evidence, the rest is convenience. */
export interface ReceiptView {
  receiptId: string;
  requestId: string;
  tenantId: string;
  logIndex: number;
  /** SHA-256 of the JWS, hex: what the next receipt names as its predecessor */
  sha256: string;
  jws: string;
  receipt: Receipt;
  createdAt: string;
}
