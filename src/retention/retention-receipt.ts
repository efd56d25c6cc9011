import { DataMap, Erasure } from '../datamap/datamap.types';
import type { PurgeResult } from '../erasure/erasure.activities';
import { erasureReceiptContent, ReceiptFacts } from '../erasure/erasure-receipt';
import type { Verification } from '../erasure/verify';
import type { ReceiptContent } from '../receipts/receipt.types';

/**
 * A retention receipt: the erasure receipt's content (scope, counts,
 * verification in a fresh snapshot) with what differs for a retention purge.
 * It removes rows from the database only: no export is shredded and no
 * tombstone is written, so the receipt must not claim either; an anonymize
 * policy names its own column strategies, which may differ from the data
 * map's erasure action for the table.
 */
export function retentionReceiptContent(facts: ReceiptFacts, map: DataMap, purge: PurgeResult, verification: Verification, action: Erasure): ReceiptContent {
  const content = erasureReceiptContent({ ...facts, kind: 'retention' }, map, purge, verification);
  const columns = action.action === 'anonymize' ? Object.entries(action.columns).map(([column, strategy]) => ({ column, strategy })) : undefined;
  return {
    ...content,
    tables: content.tables.map((t) => ({ table: t.table, method: t.method, rows: t.rows, ...(t.method === 'anonymize' && columns ? { columns } : {}) })),
    remains: [
      ...content.remains.filter((r) => r.what === 'dead-tuples' || r.what === 'wal'),
      { what: 'backups', status: 'expires', until: "the end of the database backups' retention period",
        reason: 'physical backups are immutable; they age out on their own schedule' },
      { what: 'exports', status: 'retained', until: null,
        reason: 'a retention purge removes rows from the database only; exports made earlier follow their own lifecycle' },
    ],
    notCovered: [
      ...content.notCovered.filter((n) => !purge.tables.some((t) => t.retainedRows > 0 && n.table === `${t.table.schema}.${t.table.name}`)),
      ...purge.tables.filter((t) => t.retainedRows > 0).map((t) => ({
        table: `${t.table.schema}.${t.table.name}`,
        reason: `${t.retainedRows} row(s) past the cutoff kept because other rows still reference them`,
      })),
    ],
  };
}
