import { Pool } from 'pg';
import { FileRecord, SnapshotInfo } from './export.types';
import { TableCopy } from './plan';
import { withSnapshotTransaction } from './snapshot';

export interface KeptFile {
  copy: TableCopy;
  /** the file as an earlier attempt wrote it, at the snapshot `before` */
  file: FileRecord;
}

export type Verdict = { unchanged: true } | { unchanged: false; reason: string };

const XID_SPACE = 2n ** 32n;

/**
 * Decides whether files an earlier attempt read at snapshot `before` are
 * exactly what snapshot `after` reads, so that they can be kept in an export
 * that is true at `after`. For every file, at `after`:
 *
 * 1. no row the COPY reads (nor any row of its join path) has an xmin in
 *    [before.xmin, after.xmax): every row version it reads was written by a
 *    transaction that had ended before `before` was taken (xids below a
 *    snapshot's xmin are all finished), so was committed and visible at
 *    `before` too, and still read the same way. Starting the window at
 *    `before.xmin`, not `before.xmax`, also catches subtransactions of
 *    transactions in flight at `before`, whose xids a snapshot does not list;
 * 2. the COPY reads as many rows as the file holds: with (1), the rows at
 *    `after` are a subset of the rows at `before`, so equal counts mean no row
 *    was deleted in between.
 *
 * xmin is a 32-bit xid, so the window is compared modulo 2^32; an old frozen
 * xmin that aliases into it only costs a needless restart, never a wrong
 * keep. RLS policies are assumed to depend on the row and the tenant setting
 * only (the data map's contract). One scan of the kept tables' rows, no
 * output: far cheaper than reading, compressing, encrypting and uploading
 * them again.
 */
export async function proveUnchanged(
  pool: Pool,
  after: { id: string; info: SnapshotInfo },
  before: SnapshotInfo,
  tenantId: string,
  kept: KeptFile[],
): Promise<Verdict> {
  const windowStart = BigInt(before.xmin);
  const windowXids = BigInt(after.info.xmax) - windowStart;
  if (windowXids >= XID_SPACE / 2n) return { unchanged: false, reason: `${windowXids} transactions between the snapshots: too many to compare 32-bit xids` };
  const unprovable = kept.find((k) => k.copy.rowVersionsSql === null);
  if (unprovable) return { unchanged: false, reason: `${unprovable.copy.path}: a subject export is not proven, only redone` };

  return withSnapshotTransaction(pool, after.id, tenantId, async (client): Promise<Verdict> => {
    for (const { copy, file } of kept) {
      const { rows } = await client.query<{ rows: string; written: string }>(copy.rowVersionsSql!, [String(windowStart % XID_SPACE), String(windowXids)]);
      const now = Number(rows[0].rows);
      const written = Number(rows[0].written);
      if (written > 0) return { unchanged: false, reason: `${copy.path}: ${written} rows written since the earlier snapshot` };
      if (now !== file.rows) return { unchanged: false, reason: `${copy.path}: ${now} rows now, ${file.rows} at the earlier snapshot` };
    }
    return { unchanged: true };
  });
}
