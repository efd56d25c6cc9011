import { Pool } from 'pg';
import { badInput, conflict } from '../errors';
import { parseLsn } from './lsn';
import { resolveTarget, RestoreTarget, timeToMicros } from './restore-target';

/**
 * The checks a restore request must pass before a workflow starts, so a bad
 * target is a 4xx at once instead of a failed request later. The restore
 * itself checks all of them again (and more: the archive's reach).
 */
export async function preflightRestore(appPool: Pool, catalogPool: Pool, tenantId: string, target: RestoreTarget): Promise<void> {
  resolveTarget(target);
  const tomb = await catalogPool.query('SELECT 1 FROM tombstones WHERE tenant_id = $1 AND subject_hash IS NULL', [tenantId]);
  if (tomb.rowCount) throw conflict('tenant_erased', `Tenant ${tenantId} was erased; its data must not come back, so it cannot be restored.`);
  const { rows } = await appPool.query<{ now: string; lsn: string }>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now, pg_current_wal_lsn()::text AS lsn`);
  const future = 'time' in target ? timeToMicros(target.time) > timeToMicros(rows[0].now) : parseLsn(target.lsn) > parseLsn(rows[0].lsn);
  if (future) throw badInput('restore_target_in_future', `The target is in the future (the database is at ${'time' in target ? rows[0].now : `LSN ${rows[0].lsn}`}).`);
  const snaps = await catalogPool.query(
    'time' in target
      ? 'SELECT 1 FROM restore_snapshots WHERE tenant_id = $1 AND taken_at <= $2::timestamptz LIMIT 1'
      : 'SELECT 1 FROM restore_snapshots WHERE tenant_id = $1 AND lsn <= $2::pg_lsn LIMIT 1',
    [tenantId, 'time' in target ? target.time : target.lsn],
  );
  if (!snaps.rowCount) {
    throw badInput('restore_target_before_oldest_snapshot',
      `No snapshot of tenant ${tenantId} precedes the target; pick a later target, or take one (POST /v1/tenants/${tenantId}/snapshots) for future restores.`);
  }
}
