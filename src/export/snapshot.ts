import { Client, Pool, PoolClient, escapeIdentifier } from 'pg';
import { notFound } from '../errors';
import { DataMap } from '../datamap/datamap.types';
import { qualified } from './plan-sql';
import { SnapshotInfo } from './export.types';

/**
 * Session settings every COPY runs under, so the same rows always give the
 * same bytes whatever the server's or role's defaults are.
 */
export const EXPORT_SESSION_SETTINGS: Readonly<Record<string, string>> = { TimeZone: 'UTC', DateStyle: 'ISO, MDY' };

export interface ExportSnapshot {
  /** the id `SET TRANSACTION SNAPSHOT` takes */
  id: string;
  info: SnapshotInfo;
  /** ends the holding transaction; idempotent */
  release(): Promise<void>;
}

/**
 * Opens the REPEATABLE READ transaction whose snapshot every table's COPY
 * imports, so all tables agree on one instant however they are scheduled. The
 * transaction must stay open until every COPY has imported the snapshot; we
 * hold it for the whole export (it is idle and read-only, holding no locks).
 * It runs on its own connection, outside the pool: holding a pooled
 * connection while waiting for more from the same pool deadlocks once enough
 * exports run at once. Fails with tenant_not_found for an unknown tenant.
 */
export async function openExportSnapshot(pool: Pool, map: DataMap, tenantId: string): Promise<ExportSnapshot> {
  // pool.options, not a copy: the pool keeps the password as a non-enumerable property.
  const client = new Client(pool.options);
  client.on('error', () => undefined); // a dropped connection surfaces as the next query's error
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query(`SELECT set_config('app.current_tenant_id', $1, true)`, [tenantId]);
    const { rows } = await client.query<{ id: string; taken_at: Date; lsn: string; snapshot: string; tenant_exists: boolean }>(
      `SELECT pg_export_snapshot() AS id, now() AS taken_at, pg_current_wal_lsn()::text AS lsn,
              pg_current_snapshot()::text AS snapshot,
              EXISTS (SELECT 1 FROM ${qualified(map.tenantTable)} WHERE ${escapeIdentifier(map.tenantTable.keyColumn)} = $1) AS tenant_exists`,
      [tenantId],
    );
    const row = rows[0];
    if (!row.tenant_exists) throw notFound('tenant_not_found', 'No such tenant.');
    let released = false;
    return {
      id: row.id,
      info: { takenAt: row.taken_at.toISOString(), lsn: row.lsn, ...parseSnapshot(row.snapshot) },
      async release() {
        if (released) return;
        released = true;
        await client.query('COMMIT').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** `xmin:xmax:xip,xip` as printed by pg_current_snapshot(). */
export function parseSnapshot(text: string): Pick<SnapshotInfo, 'xmin' | 'xmax' | 'xip'> {
  const [xmin, xmax, xip] = text.split(':');
  return { xmin, xmax, xip: xip ? xip.split(',').filter(Boolean) : [] };
}

/**
 * Runs `fn` in a transaction that reads at the exported snapshot, on its own
 * pooled connection, with the tenant setting RLS policies read. The order is
 * forced by Postgres: isolation level and snapshot before any query.
 * `fn` gets the client; when it fails or is cancelled the connection is
 * destroyed rather than returned (a COPY cut short leaves it unusable).
 */
export async function withSnapshotTransaction<T>(
  pool: Pool,
  snapshotId: string,
  tenantId: string,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${escapeSnapshotId(snapshotId)}`);
    await client.query(
      `SELECT set_config('app.current_tenant_id', $1, true), set_config('TimeZone', $2, true), set_config('DateStyle', $3, true)`,
      [tenantId, EXPORT_SESSION_SETTINGS.TimeZone, EXPORT_SESSION_SETTINGS.DateStyle],
    );
    const result = await fn(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** Snapshot ids look like `00000003-0000001B-1`; anything else is refused rather than quoted. */
function escapeSnapshotId(id: string): string {
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(id)) throw new Error(`Unexpected snapshot id format: ${id}`);
  return `'${id}'`;
}
