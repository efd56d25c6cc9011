import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { sqlQuery } from '../db/sql-files';
import { deleteKeys, deletePrefix } from '../s3/prefix';
import { SCAN_MARGIN } from './archive-reader';
import { windowStartOf } from './pitr-window';

export interface ArchiveRetentionDependencies {
  catalogPool: Pool;
  s3: S3Client;
}

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type PruneResult = {
  /** the oldest instant still restorable: now − PITR_WINDOW */
  windowStart: string;
  snapshotsDeleted: number;
  segmentsDeleted: number;
  /** tenants whose anchor snapshot (the one a restore to the window start loads) was kept */
  anchoredTenants: number;
  /** restore staging schemas dropped after RESTORE_STAGING_TTL (by the scheduled run) */
  stagingsExpired?: number;
};

interface Anchor {
  tenant_id: string;
  id: string;
  lsn: string;
  taken_at: Date;
}

/**
 * PITR window retention: deletes the snapshots and WAL segments no restore
 * to an instant inside the window can use, objects first and then their
 * catalog rows (a crash in between leaves rows a rerun deletes again; never
 * an object no row names). Per tenant it keeps its anchor — the newest
 * snapshot at or before the window start — and every segment a replay from
 * it reads, so a restore to the window start itself still works. A tenant
 * whose snapshots are all inside the window keeps them all.
 *
 * A restore target within the few milliseconds it took to take the anchor
 * (a transaction can commit between its recorded time and its snapshot)
 * needs the snapshot before it, which is gone: such a target is refused as
 * before the oldest snapshot, never restored wrong.
 */
export async function pruneArchive(deps: ArchiveRetentionDependencies, options: { now: Date; windowMs: number }): Promise<PruneResult> {
  const windowStart = windowStartOf(options.now, options.windowMs);
  const { rows: anchors } = await deps.catalogPool.query<Anchor>(sqlQuery('restore', 'archive-anchors.sql'), [windowStart]);

  const { rows: snapshots } = await deps.catalogPool.query<{ id: string; bucket: string; prefix: string }>(
    sqlQuery('restore', 'snapshots-expired.sql'), [windowStart, anchors.map((a) => a.id)]);
  const { rows: segments } = await deps.catalogPool.query<{ id: string; bucket: string; object_key: string }>(
    sqlQuery('restore', 'segments-expired.sql'),
    [windowStart, SCAN_MARGIN, anchors.map((a) => a.tenant_id), anchors.map((a) => a.lsn), anchors.map((a) => a.taken_at)]);

  for (const snapshot of snapshots) await deletePrefix(deps.s3, snapshot.bucket, snapshot.prefix);
  for (const [bucket, keys] of byBucket(segments)) await deleteKeys(deps.s3, bucket, keys);
  // Snapshots first: once a snapshot's row is gone no restore picks it, so none can need its segments.
  await deps.catalogPool.query('DELETE FROM restore_snapshots WHERE id = ANY ($1::uuid[])', [snapshots.map((s) => s.id)]);
  await deps.catalogPool.query('DELETE FROM wal_segments WHERE id = ANY ($1::bigint[])', [segments.map((s) => s.id)]);

  return {
    windowStart: windowStart.toISOString(),
    snapshotsDeleted: snapshots.length,
    segmentsDeleted: segments.length,
    anchoredTenants: anchors.length,
  };
}

function byBucket(segments: Array<{ bucket: string; object_key: string }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of segments) out.set(s.bucket, [...(out.get(s.bucket) ?? []), s.object_key]);
  return out;
}
