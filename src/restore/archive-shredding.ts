import { S3Client } from '@aws-sdk/client-s3';
import { Pool, PoolClient } from 'pg';
import type { ReceiptContent } from '../receipts/receipt.types';
import { deletePrefix, listKeys } from '../s3/prefix';
import { snapshotsPrefixOfTenant, walPrefixOfTenant } from './archive-layout';
import { withArchiveTenantLock } from './archive-tenant-lock';

export interface ArchiveShreddingDependencies {
  catalogPool: Pool;
  s3: S3Client;
  /** the bucket the archive is written to (S3_EXPORT_BUCKET) */
  bucket: string;
}

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type ArchiveShredResult = {
  snapshots: number;
  segments: number;
  /** S3 objects deleted: every object of every snapshot, and every segment */
  snapshotObjects: number;
  segmentObjects: number;
};

/**
 * Deletes an erased tenant's restore archive: every snapshot and WAL
 * segment, objects and catalog rows. Objects go by the tenant's folders (which
 * also catches what a crashed snapshot left without a row) and by each
 * snapshot row's own prefix (snapshots taken before they had their folder
 * lived under `exports/`). Idempotent: a repeat finds nothing and says 0.
 * The table-wide segments (`*`: TRUNCATEs) name no tenant's rows and stay.
 * Under the tenant's archive lock, so a segment compaction of the tenant
 * finishes first (or starts after), and cannot write a merged object into
 * the folder once it has been emptied. Compacted objects waiting for their
 * grace period lie in the same folder: they go with it, and so do their
 * rows in wal_segment_deletes.
 */
export async function shredTenantArchive(deps: ArchiveShreddingDependencies, tenantId: string): Promise<ArchiveShredResult> {
  return withArchiveTenantLock(deps.catalogPool, tenantId, (catalog) => shred({ ...deps, catalog }, tenantId));
}

async function shred(deps: ArchiveShreddingDependencies & { catalog: PoolClient }, tenantId: string): Promise<ArchiveShredResult> {
  const { rows: snapshots } = await deps.catalog.query<{ bucket: string; prefix: string }>(
    'SELECT bucket, prefix FROM restore_snapshots WHERE tenant_id = $1', [tenantId]);
  const { rows: segments } = await deps.catalog.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM wal_segments WHERE tenant_id = $1', [tenantId]);

  const folder = { bucket: deps.bucket, prefix: snapshotsPrefixOfTenant(tenantId) };
  const outside = snapshots.filter((s) => !(s.bucket === folder.bucket && s.prefix.startsWith(folder.prefix)));
  let snapshotObjects = 0;
  for (const { bucket, prefix } of [folder, ...outside]) {
    snapshotObjects += (await listKeys(deps.s3, bucket, prefix)).length;
    await deletePrefix(deps.s3, bucket, prefix);
  }
  const walPrefix = walPrefixOfTenant(tenantId);
  const segmentObjects = (await listKeys(deps.s3, deps.bucket, walPrefix)).length;
  await deletePrefix(deps.s3, deps.bucket, walPrefix);

  await deps.catalog.query('DELETE FROM restore_snapshots WHERE tenant_id = $1', [tenantId]);
  await deps.catalog.query('DELETE FROM wal_segments WHERE tenant_id = $1', [tenantId]);
  await deps.catalog.query('DELETE FROM wal_segment_deletes WHERE tenant_id = $1', [tenantId]);
  return { snapshots: snapshots.length, segments: segments[0].n, snapshotObjects, segmentObjects };
}

type Remainder = ReceiptContent['remains'][number];

/** What a tenant erasure's receipt says about the restore archive: shredded, with the object counts. */
export function shreddedArchiveRemains(shred: ArchiveShredResult): Remainder[] {
  return [
    { what: 'snapshots', status: 'shredded', until: null, objects: shred.snapshotObjects },
    { what: 'wal-archive', status: 'shredded', until: null, objects: shred.segmentObjects },
  ];
}

/**
 * What a subject erasure's receipt says about the restore archive. The
 * tenant's snapshots and WAL segments hold the subject's rows, but they are
 * the tenant's restore points and stay; every restore erases tombstoned
 * subjects again before anything is visible, and PITR retention (which runs
 * after each scheduled snapshot) deletes them once they leave the window.
 */
export function subjectArchiveRemains(windowEndsAt: Date, pitrWindow: string): Remainder[] {
  const reason = 'kept as the tenant\'s restore points; every restore erases the subject again (by its tombstone) before the restored rows are visible';
  const until = `the first snapshot run after ${windowEndsAt.toISOString()}, when they are older than the PITR window (${pitrWindow})`;
  return [
    { what: 'snapshots', status: 'expires', until, reason },
    { what: 'wal-archive', status: 'expires', until, reason },
  ];
}
