import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DataMap } from '../datamap/datamap.types';
import { ErasureCatalog } from '../erasure/erasure.catalog';
import { normalizeTenantId } from '../erasure/purge-session';
import { conflict } from '../errors';
import { openExportSource } from '../export/export-source';
import { readVerifiedManifest } from '../export/read-manifest';
import { ExportDependencies, runExport } from '../export/run-export';
import { deletePrefix } from '../s3/prefix';
import { snapshotPrefix } from './archive-layout';

export interface TenantSnapshot {
  id: string;
  tenantId: string;
  takenAt: string;
  lsn: string;
  xmin: string;
  xmax: string;
  xip: string[];
  bucket: string;
  prefix: string;
  rows: number;
}

/** The export request id a snapshot's objects are filed under. */
export const snapshotRequestId = (snapshotId: string) => `snapshot-${snapshotId}`;

/**
 * A tenant snapshot is an ordinary tenant export (CSV, every tenant table,
 * one pg_export_snapshot() shared by all tables) plus the visibility of that
 * snapshot recorded in the catalog: replay later applies exactly the
 * transactions it did not see, even ones in flight while it was taken.
 * An export resumed under a second snapshot would not be one instant: refused.
 * Its objects go to the tenant's `snapshots/` folder, not `exports/`: export
 * lifecycle rules and the shredding of exports must never remove a restore point.
 */
export async function takeTenantSnapshot(deps: ExportDependencies & { catalogPool: Pool }, map: DataMap, tenantId: string, snapshotId: string = randomUUID()): Promise<TenantSnapshot> {
  const tenant = normalizeTenantId(map, tenantId);
  const prefix = snapshotPrefix(tenant, snapshotId);
  await refuseErasedTenant(deps.catalogPool, tenant);
  const result = await runExport(deps, map, { requestId: snapshotRequestId(snapshotId), scope: { tenantId: tenant }, format: 'csv', prefix });
  if (!result.consistent) throw new Error(`snapshot ${snapshotId} was read under more than one snapshot; take it again`);
  // An erasure that began while the snapshot was read may have shredded the archive already: leave nothing behind it.
  await refuseErasedTenant(deps.catalogPool, tenant).catch(async (error: unknown) => {
    await deletePrefix(deps.s3, result.bucket, prefix);
    throw error;
  });
  const manifest = await readSnapshotInfo(deps, result.bucket, result.prefix, tenantId, snapshotId);
  const snapshot: TenantSnapshot = { id: snapshotId, tenantId: manifest.tenantId, ...manifest.info, bucket: result.bucket, prefix: result.prefix, rows: result.rows };
  await deps.catalogPool.query(
    `INSERT INTO restore_snapshots (id, tenant_id, taken_at, lsn, snapshot_xmin, snapshot_xmax, snapshot_xip, bucket, prefix, rows)
     VALUES ($1, $2, $3, $4, $5, $6, $7::xid8[], $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
    [snapshot.id, snapshot.tenantId, snapshot.takenAt, snapshot.lsn, snapshot.xmin, snapshot.xmax, snapshot.xip, snapshot.bucket, snapshot.prefix, snapshot.rows],
  );
  return snapshot;
}

async function refuseErasedTenant(catalogPool: Pool, tenantId: string): Promise<void> {
  const tombstone = await new ErasureCatalog(catalogPool).findTombstone(tenantId, null);
  if (tombstone) throw conflict('tenant_erased', `Tenant ${tenantId} was erased on ${tombstone.createdAt}; it is not snapshotted.`);
}

async function readSnapshotInfo(deps: ExportDependencies, bucket: string, prefix: string, tenantId: string, snapshotId: string) {
  const source = openExportSource(`s3://${bucket}/${prefix}`, deps.s3);
  const { manifest } = await readVerifiedManifest(source, deps, { requestId: snapshotRequestId(snapshotId) });
  if (manifest.snapshots.length !== 1) throw new Error(`snapshot ${snapshotId}: expected one database snapshot, found ${manifest.snapshots.length}`);
  return { tenantId: manifest.tenantId, info: manifest.snapshots[0] };
}

interface SnapshotRow {
  id: string; tenant_id: string; taken_at: Date; lsn: string; snapshot_xmin: string; snapshot_xmax: string; snapshot_xip: string[]; bucket: string; prefix: string; rows: string;
}

const SNAPSHOT_COLUMNS = `id, tenant_id, taken_at, lsn::text, snapshot_xmin::text, snapshot_xmax::text, snapshot_xip::text[], bucket, prefix, rows`;

/** The tenant's snapshots, newest first. */
export async function listTenantSnapshots(catalogPool: Pool, tenantId: string): Promise<TenantSnapshot[]> {
  const { rows } = await catalogPool.query<SnapshotRow>(`SELECT ${SNAPSHOT_COLUMNS} FROM restore_snapshots WHERE tenant_id = $1 ORDER BY lsn DESC`, [tenantId]);
  return rows.map((r) => ({
    id: r.id, tenantId: r.tenant_id, takenAt: r.taken_at.toISOString(), lsn: r.lsn, xmin: r.snapshot_xmin, xmax: r.snapshot_xmax,
    xip: r.snapshot_xip, bucket: r.bucket, prefix: r.prefix, rows: Number(r.rows),
  }));
}
