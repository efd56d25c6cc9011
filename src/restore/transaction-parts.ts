import { ArchivedTransaction } from './wal.types';

/**
 * Transactions too large to hold in memory are archived in parts (see
 * ArchivedTransaction.part and the archiver's PART_CHANGES): each part is a
 * record of its own, in a segment of its own, and only the final part has
 * the commit's end LSN. Readers join the parts back into one transaction.
 */

/** What identifies an archived record: its commit LSN, and its part if it is one. A crash-repeated drain writes the same records again. */
export function recordKey(tx: ArchivedTransaction): string {
  return tx.part ? `${tx.commitLsn}#${tx.part.index}` : tx.commitLsn;
}

/** Thrown when the archive holds some parts of a transaction it says is archived, but not all: never replayed as if whole. */
export class IncompleteTransactionError extends Error {
  constructor(commitLsn: string, why: string) {
    super(`the WAL archive holds only part of the transaction committed at ${commitLsn} (${why}); drain the archive again (a drain interrupted midway rewrites it whole) and retry`);
    this.name = 'IncompleteTransactionError';
  }
}

/**
 * Joins one tenant's records, deduplicated by recordKey and in commit order,
 * into whole transactions: parts are concatenated in order under the final
 * part's end LSN. A transaction whose final part is not there yet is still
 * being archived (its commit is past `archivedLsn`, the archive's high-water
 * mark): left out. One that should be whole but is not is an error.
 */
export function joinParts(records: ArchivedTransaction[], isArchived: (commitLsn: string) => boolean): ArchivedTransaction[] {
  const out: ArchivedTransaction[] = [];
  let parts: ArchivedTransaction[] = [];
  const flush = () => {
    if (parts.length === 0) return;
    const { commitLsn } = parts[0];
    const final = parts[parts.length - 1];
    const complete = final.part!.final && parts.every((p, i) => p.part!.index === i);
    if (complete) {
      out.push({ xid: final.xid, commitLsn, endLsn: final.endLsn, commitMicros: final.commitMicros, changes: parts.flatMap((p) => p.changes) });
    } else if (isArchived(commitLsn)) {
      throw new IncompleteTransactionError(commitLsn, `parts ${parts.map((p) => p.part!.index).join(', ')} of ${final.part!.final ? final.part!.index + 1 : 'more'}`);
    }
    parts = [];
  };
  for (const tx of records) {
    if (parts.length > 0 && parts[0].commitLsn !== tx.commitLsn) flush();
    if (tx.part) parts.push(tx);
    else out.push(tx);
  }
  flush();
  return out;
}
