import { Pool } from 'pg';
import { TableEntry } from '../datamap/datamap.types';
import { conflict } from '../errors';
import { SCAN_MARGIN } from './archive-reader';
import { parseLsn } from './lsn';
import { resolveTarget, ResolvedTarget, RestoreTarget, timeToMicros } from './restore-target';
import { ANY_TABLE } from './schema-change';
import { listTenantSnapshots, TenantSnapshot } from './tenant-snapshot';
import { isVisibleInSnapshot } from './visibility';

/**
 * Whether the archive can carry a tenant from a snapshot to a target: no gap
 * in between (a stretch of WAL nobody archived) and no schema change of a
 * restored table (rows of one shape would be replayed into another). Both are
 * refused with a 409 that names what is in the way and what still works.
 */
export async function assertReplayable(
  catalogPool: Pool,
  tables: TableEntry[],
  tenantId: string,
  snapshot: TenantSnapshot,
  target: ResolvedTarget,
): Promise<void> {
  const gap = (await gapsCrossed(catalogPool, snapshot, target))[0];
  if (gap) {
    throw conflict('restore_spans_archive_gap',
      `Tenant ${tenantId} cannot be restored to ${target.describe}: the WAL archive has a gap from LSN ${gap.from_lsn} to ${gap.to_lsn} ` +
        `(${gap.reason}, detected ${gap.detected_at.toISOString()}) between its newest usable snapshot (${snapshot.id}, LSN ${snapshot.lsn}) and the target. ` +
        `Restore to a point before LSN ${gap.from_lsn}, or take a snapshot (POST /v1/tenants/${tenantId}/snapshots) and restore to points after it.`,
      { fromLsn: gap.from_lsn, toLsn: gap.to_lsn, reason: gap.reason, snapshotId: snapshot.id });
  }
  const change = (await schemaChangesCrossed(catalogPool, tables, snapshot, target))[0];
  if (change) {
    const table = change.schema_name === ANY_TABLE ? 'a table' : `table ${change.schema_name}.${change.table_name}`;
    throw conflict('restore_spans_schema_change',
      `Tenant ${tenantId} cannot be restored to ${target.describe}: ${table} changed shape at LSN ${change.lsn} ` +
        `(${change.command_tag}${change.statement ? `: ${change.statement}` : ''}), after its newest usable snapshot (${snapshot.id}, LSN ${snapshot.lsn}); ` +
        'replaying across it would put rows of the old shape into the new one. ' +
        `Restore to a point before LSN ${change.commit_lsn}, or take a snapshot (POST /v1/tenants/${tenantId}/snapshots) and restore to points after it.`,
      { table: `${change.schema_name}.${change.table_name}`, command: change.command_tag, statement: change.statement, lsn: change.lsn, commitLsn: change.commit_lsn, snapshotId: snapshot.id });
  }
}

/**
 * The same check at request time, from the newest snapshot before the target
 * (the restore may go back further, which only crosses more): a 409 now
 * rather than a failed request later.
 */
export async function preflightReplayRange(catalogPool: Pool, tables: TableEntry[], tenantId: string, target: RestoreTarget): Promise<void> {
  const resolved = resolveTarget(target);
  const snapshot = (await listTenantSnapshots(catalogPool, tenantId)).find((s) =>
    'lsn' in target ? parseLsn(s.lsn) <= parseLsn(target.lsn) : timeToMicros(s.takenAt) <= timeToMicros(target.time));
  if (snapshot) await assertReplayable(catalogPool, tables, tenantId, snapshot, resolved);
}

interface GapRow {
  from_lsn: string;
  to_lsn: string;
  from_micros: string | null;
  reason: string;
  detected_at: Date;
}

/**
 * Gaps ending after the snapshot whose start the target reaches. Everything
 * lost committed at or after from_lsn, and after from_commit_at (the last
 * archived commit): an LSN target past from_lsn, or a time target at or past
 * from_commit_at, would need it. A snapshot at or after to_lsn was taken with
 * the new slot in place and needs nothing from the gap.
 */
async function gapsCrossed(catalogPool: Pool, snapshot: TenantSnapshot, target: ResolvedTarget): Promise<GapRow[]> {
  const { rows } = await catalogPool.query<GapRow>(
    `SELECT from_lsn::text, to_lsn::text, reason, detected_at,
            ((extract(epoch FROM from_commit_at) * 1000000)::bigint)::text AS from_micros
     FROM wal_archive_gaps WHERE to_lsn > $1::pg_lsn ORDER BY from_lsn`,
    [snapshot.lsn],
  );
  return rows.filter((g) => ('lsn' in target.target
    ? parseLsn(target.target.lsn) > parseLsn(g.from_lsn)
    : g.from_micros === null || timeToMicros(target.target.time) >= BigInt(g.from_micros)));
}

interface SchemaChangeRow {
  lsn: string;
  xid: string;
  commit_lsn: string;
  commit_micros: string;
  schema_name: string;
  table_name: string;
  command_tag: string;
  statement: string | null;
}

/**
 * Schema changes of restored tables that replay from the snapshot to the
 * target would apply: by the same rules as the transactions themselves (not
 * visible in the snapshot, inside the target), so a DDL the snapshot already
 * contains, or one after the target, is no obstacle.
 */
async function schemaChangesCrossed(catalogPool: Pool, tables: TableEntry[], snapshot: TenantSnapshot, target: ResolvedTarget): Promise<SchemaChangeRow[]> {
  const { rows } = await catalogPool.query<SchemaChangeRow>(
    `SELECT lsn::text, xid::text, commit_lsn::text, ((extract(epoch FROM committed_at) * 1000000)::bigint)::text AS commit_micros,
            schema_name, table_name, command_tag, statement
     FROM wal_schema_changes
     WHERE committed_at >= $1::timestamptz - $2::interval OR commit_lsn >= $3::pg_lsn
     ORDER BY commit_lsn, lsn`,
    [snapshot.takenAt, SCAN_MARGIN, snapshot.lsn],
  );
  const restored = new Set(tables.map((t) => `${t.schema}.${t.name}`));
  return rows.filter((c) =>
    (c.schema_name === ANY_TABLE || restored.has(`${c.schema_name}.${c.table_name}`)) &&
    !isVisibleInSnapshot(Number(c.xid), snapshot) &&
    target.includes({ xid: Number(c.xid), commitLsn: c.commit_lsn, endLsn: c.commit_lsn, commitMicros: c.commit_micros, changes: [] }));
}
