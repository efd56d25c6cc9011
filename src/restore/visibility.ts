/** The parts of pg_current_snapshot() that decide visibility, as xid8 decimal strings. */
export interface SnapshotVisibility {
  xmin: string;
  xmax: string;
  xip: string[];
}

/**
 * Whether the transaction with this 32-bit xid (pgoutput's Begin.xid) had
 * committed as far as the snapshot is concerned, i.e. whether the snapshot's
 * rows already contain its changes. The xid is widened to 64 bits relative
 * to the snapshot's xmax: wraparound protection keeps every live xid within
 * 2^31 of it, so the signed 32-bit distance is exact (the way Postgres widens
 * xids against its next xid). Same rule as pg_visible_in_snapshot for a
 * committed transaction.
 */
export function isVisibleInSnapshot(xid: number, snap: SnapshotVisibility): boolean {
  const xmax = BigInt(snap.xmax);
  const distance = BigInt.asIntN(32, BigInt(xid) - (xmax & 0xffffffffn));
  const full = xmax + distance;
  if (full < BigInt(snap.xmin)) return true;
  if (full >= xmax) return false;
  return !snap.xip.some((x) => BigInt(x) === full);
}
