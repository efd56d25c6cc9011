import { Client, Pool } from 'pg';
import { withTransaction } from '../db/pool';
import { logger } from '../logger';
import { parseLsn } from './lsn';

export interface ArchiveNames {
  slot: string;
  publication: string;
}

/** A gap the archiver just found and recorded. */
export interface ArchiveGap {
  fromLsn: string;
  toLsn: string;
  reason: string;
}

interface Recorded {
  archived_lsn: string;
  archived_commit_at: Date | null;
}

interface SlotRow {
  wal_status: string | null;
  confirmed: string | null;
}

/**
 * Makes the slot and the catalog agree before a drain, and says so when they
 * cannot: a slot that is gone, invalidated (wal_status 'lost') or confirmed
 * beyond what the archive holds means WAL was decoded by no one. That stretch
 * is recorded as a gap (`wal_archive_gaps`), a fresh slot continues the
 * archive from its consistent point, and restores across the gap are refused.
 * The archiver itself never confirms beyond `archived_lsn` (it records a
 * batch, then advances), so "confirmed > archived" is always someone else.
 * Call under the archive lock (WalArchiver.lock).
 */
export async function reconcileSlot(client: Client, catalogPool: Pool, names: ArchiveNames): Promise<ArchiveGap | null> {
  const recorded = (await catalogPool.query<Recorded>(
    'SELECT archived_lsn::text, archived_commit_at FROM wal_archives WHERE slot_name = $1', [names.slot])).rows[0];
  const slot = (await client.query<SlotRow>(
    'SELECT wal_status, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rows[0];

  if (!recorded) {
    if (slot) throw new Error(`slot ${names.slot} exists but the catalog does not know it; drop it (SELECT pg_drop_replication_slot('${names.slot}')) or pick another slot name`);
    const created = await createSlot(client, names.slot);
    await catalogPool.query(
      `INSERT INTO wal_archives (slot_name, publication, created_lsn, archived_lsn, archived_commit_at) VALUES ($1, $2, $3, $3, $4)
       ON CONFLICT (slot_name) DO NOTHING`,
      [names.slot, names.publication, created.lsn, created.before],
    );
    return null;
  }

  const reason = !slot ? 'was dropped (or lost in a failover)'
    : slot.wal_status === 'lost' ? 'was invalidated: it fell more than max_slot_wal_keep_size behind'
      : slot.confirmed !== null && parseLsn(slot.confirmed) > parseLsn(recorded.archived_lsn)
        ? `was recreated or advanced outside the archiver (confirmed ${slot.confirmed}, archived ${recorded.archived_lsn})`
        : null;
  if (!reason) return null;

  let resumeLsn: string;
  let resumeAt: string;
  if (slot && slot.wal_status !== 'lost' && slot.confirmed) {
    // Someone else's slot under our name, or ours advanced by hand: archive on from where it stands.
    resumeLsn = slot.confirmed;
    resumeAt = (await client.query<{ now: string }>('SELECT clock_timestamp()::text AS now')).rows[0].now;
  } else {
    if (slot) await client.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
    const created = await createSlot(client, names.slot);
    resumeLsn = created.lsn;
    resumeAt = created.before;
  }
  const gap = { fromLsn: recorded.archived_lsn, toLsn: resumeLsn, reason: `slot ${names.slot} ${reason}` };
  await recordGap(catalogPool, names.slot, gap, recorded.archived_commit_at, resumeAt);
  logger.error({ slot: names.slot, fromLsn: gap.fromLsn, toLsn: gap.toLsn, reason: gap.reason },
    'WAL archive gap: changes between these LSNs are not archived; restores across them are refused until each tenant has a snapshot taken after the gap');
  return gap;
}

/**
 * `before`: the server's clock just before the slot existed. Transactions a
 * later gap loses commit after the slot's consistent point, so after this.
 */
async function createSlot(client: Client, slot: string): Promise<{ lsn: string; before: string }> {
  const before = (await client.query<{ now: string }>('SELECT clock_timestamp()::text AS now')).rows[0].now;
  const { rows } = await client.query<{ lsn: string }>(`SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  return { lsn: rows[0].lsn, before };
}

async function recordGap(catalogPool: Pool, slot: string, gap: ArchiveGap, fromCommitAt: Date | null, resumeAt: string): Promise<void> {
  await withTransaction(catalogPool, async (client) => {
    await client.query(
      `INSERT INTO wal_archive_gaps (slot_name, from_lsn, from_commit_at, to_lsn, reason) VALUES ($1, $2, $3, $4, $5)`,
      [slot, gap.fromLsn, fromCommitAt, gap.toLsn, gap.reason],
    );
    await client.query(
      `UPDATE wal_archives SET archived_lsn = $2, archived_commit_at = $3, archived_at = now() WHERE slot_name = $1`,
      [slot, gap.toLsn, resumeAt],
    );
  });
}
