/**
 * Glossary of the WAL archive and restore.
 * - archive slot: the one logical replication slot (pgoutput) the archiver
 *   owns; its confirmed flush LSN only moves after a segment is durable.
 * - change: one decoded INSERT, UPDATE, DELETE or TRUNCATE.
 * - archived transaction: one committed transaction's changes for one
 *   tenant, with its xid, commit LSN (start of the commit record, the
 *   decoding boundary), end LSN and commit time.
 * - segment: the encrypted, gzipped JSON object holding a tenant's archived
 *   transactions from one drain of the slot, self-describing (it embeds the
 *   relations it uses); indexed in the catalog (`wal_segments`).
 * - snapshot: a tenant's export plus its pg_current_snapshot() (xmin, xmax,
 *   xip) and LSN (`restore_snapshots`).
 * - restore point: an LSN or a commit time the tenant is brought back to.
 */

/**
 * One column value as pgoutput sends it in text form: a string, SQL NULL,
 * or UNCHANGED for a TOASTed value an UPDATE did not touch (pgoutput 'u'):
 * replay must keep the previous value. In JSON UNCHANGED is `false`, which no
 * text value or NULL can be.
 */
export const UNCHANGED = false;
export type Datum = string | null | typeof UNCHANGED;
export type Tuple = Datum[];

export interface RelationColumn {
  name: string;
  typeOid: number;
  /** part of the replica identity (pgoutput column flag 1) */
  key: boolean;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  /** d(efault), n(othing), f(ull), i(ndex) */
  replicaIdentity: string;
  columns: RelationColumn[];
}

/** `key` is the old row's identity columns (DEFAULT/INDEX) or the whole old row (FULL), when WAL carried it. */
export type Change =
  | { op: 'insert'; rel: number; new: Tuple }
  | { op: 'update'; rel: number; old?: Tuple; new: Tuple }
  | { op: 'delete'; rel: number; old: Tuple }
  /** table-wide: every tenant's rows go (row filters do not apply to TRUNCATE) */
  | { op: 'truncate'; rels: number[]; cascade: boolean };

export interface ArchivedTransaction {
  xid: number;
  /** start of the commit record (Begin.final_lsn): decoded iff ≥ the slot's start point */
  commitLsn: string;
  /** end of the commit record: what the slot is confirmed to */
  endLsn: string;
  /** microseconds since the Unix epoch, as a decimal string (a JS Date would drop microseconds) */
  commitMicros: string;
  changes: Change[];
  /**
   * A transaction too large to hold in memory is archived in parts, in
   * order: this record holds part `index` (from 0) of its changes, and
   * `final` marks the last (the only one with `endLsn`). Absent: the whole
   * transaction. See transaction-parts.ts.
   */
  part?: { index: number; final: boolean };
}

export interface Segment {
  version: 1;
  tenantId: string;
  relations: Relation[];
  transactions: ArchivedTransaction[];
}

/** Segments of TRUNCATEs and other table-wide changes are filed under this tenant id. */
export const ALL_TENANTS = '*';
