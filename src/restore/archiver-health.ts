/** Anything that runs a query: a pg Client, Pool or PoolClient. */
interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** How the archive slot stands, as pg_replication_slots and the server's WAL position say. */
export interface SlotHealth {
  slot: string;
  /** reserved, extended, unreserved (about to be lost) or lost; null before the slot reserved WAL */
  walStatus: string | null;
  confirmedLsn: string | null;
  currentLsn: string;
  /** WAL written since the last confirmation: how far the archive is behind */
  lagBytes: number | null;
  /** WAL the slot keeps on the server's disk (from restart_lsn) */
  retainedBytes: number | null;
  /** bytes the slot may still fall behind before max_slot_wal_keep_size invalidates it; null: no cap */
  safeWalBytes: number | null;
  /** max_slot_wal_keep_size in bytes; null: unlimited (-1) */
  maxSlotWalKeepSizeBytes: number | null;
}

/** The slot's health, or null when there is no such slot. One query, readable by any role. */
export async function readSlotHealth(db: Queryable, slot: string): Promise<SlotHealth | null> {
  const { rows } = await db.query<{ wal_status: string | null; confirmed: string | null; current: string; lag: string | null; retained: string | null; safe: string | null; keep_mb: string }>(
    `SELECT s.wal_status, s.confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
            pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint::text AS lag,
            pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint::text AS retained,
            s.safe_wal_size::text AS safe,
            (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_mb
     FROM pg_replication_slots s WHERE s.slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return null;
  const bytes = (v: string | null) => (v === null ? null : Number(v));
  const keepMb = Number(row.keep_mb);
  return {
    slot, walStatus: row.wal_status, confirmedLsn: row.confirmed, currentLsn: row.current,
    lagBytes: bytes(row.lag), retainedBytes: bytes(row.retained), safeWalBytes: bytes(row.safe),
    maxSlotWalKeepSizeBytes: keepMb < 0 ? null : keepMb * 1024 * 1024,
  };
}

/**
 * Why an operator should act now, or null: the slot is within
 * `warnFraction` of max_slot_wal_keep_size, or already beyond what is
 * reserved. Past the cap Postgres invalidates the slot and the archive has
 * a gap; the way out is to let the archiver catch up (or raise the cap).
 */
export function slotLagWarning(health: SlotHealth, warnFraction: number): string | null {
  if (health.walStatus === 'unreserved') {
    return `WAL archive slot ${health.slot} holds WAL beyond max_slot_wal_keep_size (wal_status unreserved): it is invalidated at the next checkpoint unless the archiver catches up`;
  }
  if (health.safeWalBytes === null || health.maxSlotWalKeepSizeBytes === null) return null;
  if (health.safeWalBytes >= warnFraction * health.maxSlotWalKeepSizeBytes) return null;
  return `WAL archive slot ${health.slot} is ${health.safeWalBytes} bytes from invalidation ` +
    `(under ${Math.round(warnFraction * 100)}% of max_slot_wal_keep_size ${health.maxSlotWalKeepSizeBytes}); lag ${health.lagBytes} bytes: ` +
    'check that the archiver runs and keeps up, or raise max_slot_wal_keep_size';
}
