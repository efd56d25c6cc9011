import { S3Client } from '@aws-sdk/client-s3';
import { Pool, PoolClient } from 'pg';
import { sqlQuery } from '../db/sql-files';
import { deleteKeys } from '../s3/prefix';
import { withArchiveTenantLock } from './archive-tenant-lock';

/**
 * Segment objects deleted later rather than now (`wal_segment_deletes`,
 * sql/migrations/000011_wal_segment_compaction.sql): the inputs of a merge,
 * kept through a grace period for restores that listed them before the
 * merge committed, and a merged object being written, in case its merge
 * never commits.
 */
export type DeleteReason = 'compacted' | 'merge-in-progress';

export interface ObjectToDelete {
  bucket: string;
  objectKey: string;
  tenantId: string;
}

/** Objects swept per sweep query: each batch is one DeleteObjects call per bucket and one catalog delete. */
const SWEEP_BATCH = 1000;

/** Schedules objects for deletion `graceMs` from now (the catalog's clock); a key already waiting waits for the later time. */
export async function scheduleDeletes(db: Pool | PoolClient, objects: ObjectToDelete[], reason: DeleteReason, graceMs: number): Promise<void> {
  if (objects.length === 0) return;
  await db.query(
    `INSERT INTO wal_segment_deletes (object_key, bucket, tenant_id, reason, delete_after)
     SELECT k, b, t, $4, now() + $5::bigint * interval '1 millisecond'
     FROM unnest($1::text[], $2::text[], $3::text[]) AS o (k, b, t)
     ON CONFLICT (object_key) DO UPDATE SET reason = EXCLUDED.reason, delete_after = greatest(wal_segment_deletes.delete_after, EXCLUDED.delete_after)`,
    [objects.map((o) => o.objectKey), objects.map((o) => o.bucket), objects.map((o) => o.tenantId), reason, Math.max(0, Math.round(graceMs))],
  );
}

/** A merge committed: its object is indexed now and no longer waits for deletion. */
export async function cancelDelete(db: Pool | PoolClient, objectKey: string): Promise<void> {
  await db.query('DELETE FROM wal_segment_deletes WHERE object_key = $1', [objectKey]);
}

/**
 * Deletes the objects whose time has come, then their rows (a crash between
 * the two leaves rows whose objects a rerun deletes again: S3 deletes are
 * idempotent). An object a catalog row names is never deleted from here.
 * Each tenant's under its archive lock, so a sweep never deletes a merged
 * object that a compaction of the same tenant is writing again (a rerun of
 * a merge whose first attempt crashed long ago). Returns how many objects it deleted.
 */
export async function sweepSegmentDeletes(deps: { catalogPool: Pool; s3: S3Client }, onTenant?: () => void): Promise<number> {
  const { rows: tenants } = await deps.catalogPool.query<{ tenant_id: string }>(
    'SELECT DISTINCT tenant_id FROM wal_segment_deletes WHERE delete_after <= now() ORDER BY tenant_id');
  let deleted = 0;
  for (const { tenant_id: tenantId } of tenants) {
    deleted += await withArchiveTenantLock(deps.catalogPool, tenantId, (catalog) => sweepTenant(catalog, deps.s3, tenantId));
    onTenant?.();
  }
  return deleted;
}

async function sweepTenant(catalog: PoolClient, s3: S3Client, tenantId: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rows } = await catalog.query<{ object_key: string; bucket: string; indexed: boolean }>(
      sqlQuery('restore', 'compaction-deletes-due.sql'), [tenantId, SWEEP_BATCH]);
    if (rows.length === 0) return deleted;
    const byBucket = new Map<string, string[]>();
    for (const row of rows.filter((r) => !r.indexed)) byBucket.set(row.bucket, [...(byBucket.get(row.bucket) ?? []), row.object_key]);
    for (const [bucket, keys] of byBucket) {
      await deleteKeys(s3, bucket, keys);
      deleted += keys.length;
    }
    await catalog.query('DELETE FROM wal_segment_deletes WHERE object_key = ANY ($1::text[])', [rows.map((r) => r.object_key)]);
    if (rows.length < SWEEP_BATCH) return deleted;
  }
}
