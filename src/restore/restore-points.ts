import { Pool } from 'pg';
import { z } from 'zod';
import { listTenantSnapshots } from './tenant-snapshot';

const isoTime = z.string().describe('ISO 8601 time');

/** What `GET /v1/tenants/{tenantId}/snapshots` answers: the tenant's restore points and how far the WAL archive reaches. */
export const RestorePointsSchema = z.object({
  items: z.array(z.object({
    id: z.uuid(),
    takenAt: isoTime.describe('when the snapshot was taken (the database clock)'),
    lsn: z.string().describe('WAL position of the snapshot, as Postgres prints it'),
    rows: z.number().int().min(0).describe('rows the snapshot holds, all tables'),
  })).describe('newest first'),
  archive: z.object({
    archivedLsn: z.string().describe('every change up to this LSN is in the archive: the latest LSN target a restore accepts'),
    archivedAt: isoTime.describe('when the archiver last made changes durable'),
  }).nullable().describe('null until the WAL archiver first ran for this database'),
  pitrWindow: z.string().describe('PITR_WINDOW: snapshots and WAL older than this are deleted, except the snapshot a restore to the window start needs'),
}).meta({
  example: {
    items: [{ id: '0b0e8f6a-5d7c-4b8e-9a53-2f4d6c1e7a90', takenAt: '2026-11-25T03:00:04.512Z', lsn: '0/3A1B2C8', rows: 48211 }],
    archive: { archivedLsn: '0/3F00A10', archivedAt: '2026-11-25T09:14:55.001Z' },
    pitrWindow: '7d',
  },
});

export type RestorePoints = z.infer<typeof RestorePointsSchema>;

/** A tenant's snapshots, newest first, with the state of the archive slot `slot`. */
export async function listRestorePoints(catalogPool: Pool, tenantId: string, slot: string, pitrWindow: string): Promise<RestorePoints> {
  const snapshots = await listTenantSnapshots(catalogPool, tenantId);
  const { rows } = await catalogPool.query<{ archived_lsn: string; archived_at: Date }>(
    'SELECT archived_lsn::text, archived_at FROM wal_archives WHERE slot_name = $1', [slot]);
  return {
    items: snapshots.map((s) => ({ id: s.id, takenAt: s.takenAt, lsn: s.lsn, rows: s.rows })),
    archive: rows[0] ? { archivedLsn: rows[0].archived_lsn, archivedAt: rows[0].archived_at.toISOString() } : null,
    pitrWindow,
  };
}
