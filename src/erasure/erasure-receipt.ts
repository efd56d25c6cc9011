import { DataMap, qualifiedName, TableRef } from '../datamap/datamap.types';
import type { ReceiptContent } from '../receipts/receipt.types';
import type { PurgeResult } from './erasure.activities';
import type { Verification } from './verify';

/** What the workflow knows about the request when it asks for the receipt. */
export interface ReceiptFacts {
  requestId: string;
  kind: 'erasure' | 'retention';
  tenantId: string;
  /** hashSubject() of the subject, for a subject erasure */
  subjectHash?: string;
  reason: string;
  retentionPolicy?: string;
  graceSeconds?: number;
  requestedBy: { role: string; subject: string };
  requestedAt: string;
  startedAt: string;
  completedAt: string;
  workflowId: string;
  legalHolds: Array<{ reason: string; placedAt: string; liftedAt?: string }>;
  /** export objects deleted under the tenant's prefix */
  exportsShredded: number;
  /** what became of the tenant's restore archive (snapshots, WAL segments); absent in receipts of erasures that predate it */
  archiveRemains?: ReceiptContent['remains'];
}

const name = (table: TableRef) => qualifiedName(table);

/**
 * The receipt's content, in the order of a certificate of sanitization (NIST
 * SP 800-88): scope and method per table, verification, and what remains and
 * until when. It carries counts and hashes only, never a personal value.
 */
export function erasureReceiptContent(facts: ReceiptFacts, map: DataMap, purge: PurgeResult, verification: Verification): ReceiptContent {
  const byName = new Map(map.tables.map((t) => [name(t), t]));
  return {
    requestId: facts.requestId,
    kind: facts.kind,
    tenantId: facts.tenantId,
    scope: facts.subjectHash ? { type: 'subject', subjectHashes: [facts.subjectHash] } : { type: 'tenant' },
    policy: {
      reason: facts.reason,
      ...(facts.kind === 'erasure' ? { legalBasis: 'GDPR Art. 17' } : {}),
      ...(facts.retentionPolicy ? { retentionPolicy: facts.retentionPolicy } : {}),
      ...(facts.graceSeconds !== undefined ? { graceSeconds: facts.graceSeconds } : {}),
    },
    requestedBy: facts.requestedBy,
    tables: purge.tables.map((t) => {
      const erasure = byName.get(name(t.table))?.erasure;
      const columns = erasure?.action === 'anonymize'
        ? Object.entries(erasure.columns).map(([column, strategy]) => ({ column, strategy }))
        : undefined;
      return { table: name(t.table), method: t.action, rows: t.rows, ...(columns ? { columns } : {}) };
    }),
    timestamps: { requestedAt: facts.requestedAt, startedAt: facts.startedAt, completedAt: facts.completedAt },
    verification: {
      method: 'rows-remaining-counted-in-one-fresh-snapshot',
      result: verification.verified ? 'passed' : 'failed',
      snapshot: `statement snapshot at ${verification.verifiedAt}`,
      checkedAt: verification.verifiedAt,
      tables: verification.tables.map((t) => ({ table: name(t.table), rowsRemaining: t.remainingRows })),
    },
    remains: [
      { what: 'dead-tuples', status: 'expires', until: 'the next VACUUM of each table listed' },
      { what: 'wal', status: 'expires', until: 'WAL segments are recycled after the next checkpoints' },
      { what: 'backups', status: 'expires', until: "the end of the database backups' retention period",
        reason: 'physical backups are immutable; a restore from them is refused by the tombstone' },
      { what: 'exports', status: 'shredded', until: null, objects: facts.exportsShredded },
      ...(facts.archiveRemains ?? []),
    ],
    notCovered: [
      ...map.tables.filter((t) => t.kind === 'global').map((t) => ({ table: name(t), reason: 'global table: no tenant data' })),
      ...purge.tables.filter((t) => t.retainedRows > 0).map((t) => ({
        table: name(t.table),
        reason: `${t.retainedRows} row(s) kept because rows the law requires to keep still reference them`,
      })),
    ],
    legalHolds: facts.legalHolds,
    workflow: { id: facts.workflowId },
  };
}
