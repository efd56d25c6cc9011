import { Client as TemporalClient, WorkflowNotFoundError } from '@temporalio/client';
import { Pool } from 'pg';
import { z } from 'zod';
import { Config } from '../config';
import { readSlotHealth, slotLagWarning } from './archiver-health';
import { archiveSourceState } from './archiver-source';
import { walArchiverWorkflowId } from './archiver-supervisor';
import { archiveNamesFor } from './restore.activities';

const lsn = z.string().describe('an LSN as Postgres prints it, e.g. 0/16B3748');
const bytes = z.number().int().nullable();
const isoTime = z.string().describe('ISO 8601 time');

/** What an operator asks of the archiver: is it running, how far behind, how close to losing WAL, is the archive whole. */
export const ArchiverStatusSchema = z.object({
  slot: z.string(),
  publication: z.string(),
  /** the catalog knows the slot: the archiver ran at least once */
  initialized: z.boolean(),
  slotExists: z.boolean(),
  publicationExists: z.boolean(),
  ddlMarkersInstalled: z.boolean().describe('the DDL event triggers that let the archive see schema changes'),
  walStatus: z.string().nullable().describe('pg_replication_slots.wal_status: reserved, extended, unreserved (about to be lost) or lost'),
  confirmedLsn: lsn.nullable().describe('what the slot is confirmed to: everything before it is durable in the archive'),
  archivedLsn: lsn.nullable().describe('end of the last archived transaction (the catalog’s high-water mark)'),
  currentLsn: lsn.nullable(),
  lagBytes: bytes.describe('WAL written since the confirmed LSN'),
  retainedBytes: bytes.describe('WAL the slot keeps on the server (from restart_lsn)'),
  safeWalBytes: bytes.describe('how much further the slot may fall behind before max_slot_wal_keep_size invalidates it; null: no cap'),
  maxSlotWalKeepSizeBytes: bytes,
  lastArchivedAt: isoTime.nullable().describe('when a drain last moved the archive forward (heartbeat markers included)'),
  lastSegmentAt: isoTime.nullable().describe('when the last segment with tenant changes was written'),
  segments: z.number().int(),
  gaps: z.array(z.object({ fromLsn: lsn, toLsn: lsn, reason: z.string(), detectedAt: isoTime })).describe('newest first, at most 10'),
  schemaChanges: z.array(z.object({ lsn, table: z.string(), command: z.string(), committedAt: isoTime })).describe('newest first, at most 10'),
  workflow: z.object({ id: z.string(), status: z.string().describe('RUNNING, FAILED, TERMINATED… (Temporal); NOT_FOUND when no worker started it') }).nullable()
    .describe('the supervised archiver of this deployment; null when Temporal was not asked'),
  warning: z.string().nullable().describe('what needs an operator now, if anything'),
}).meta({
  example: {
    slot: 'compliance_ops_pitr_demo', publication: 'compliance_ops_pitr', initialized: true, slotExists: true, publicationExists: true, ddlMarkersInstalled: true,
    walStatus: 'reserved', confirmedLsn: '0/3A1B2C8', archivedLsn: '0/3A1B2C8', currentLsn: '0/3A1C010', lagBytes: 3400, retainedBytes: 1048576,
    safeWalBytes: 4293918720, maxSlotWalKeepSizeBytes: 4294967296, lastArchivedAt: '2025-01-01T12:00:05.000Z', lastSegmentAt: '2025-01-01T12:00:04.000Z', segments: 1834,
    gaps: [], schemaChanges: [{ lsn: '0/2F00A10', table: 'public.users', command: 'ALTER TABLE', committedAt: '2024-12-30T09:15:00.000Z' }],
    workflow: { id: 'wal-archiver:compliance-ops:compliance_ops_pitr_demo', status: 'RUNNING' }, warning: null,
  },
});
export type ArchiverStatus = z.infer<typeof ArchiverStatusSchema>;

export interface ArchiverStatusDependencies {
  config: Config;
  /** the application database (any role: the slot views are public) */
  appPool: Pool;
  catalogPool: Pool;
  temporal?: TemporalClient;
}

interface ArchiveRow { archived_lsn: string; archived_at: Date; last_segment_at: Date | null; segments: number }

export async function readArchiverStatus(deps: ArchiverStatusDependencies): Promise<ArchiverStatus> {
  const names = archiveNamesFor(deps.config.DATABASE_URL);
  const [health, source, archive, gaps, changes, workflow] = await Promise.all([
    readSlotHealth(deps.appPool, names.slot),
    deps.appPool.connect().then(async (c) => { try { return await archiveSourceState(c, names.publication); } finally { c.release(); } }),
    deps.catalogPool.query<ArchiveRow>(
      `SELECT a.archived_lsn::text, a.archived_at,
              (SELECT max(created_at) FROM wal_segments s WHERE s.slot_name = a.slot_name) AS last_segment_at,
              (SELECT count(*)::int FROM wal_segments s WHERE s.slot_name = a.slot_name) AS segments
       FROM wal_archives a WHERE a.slot_name = $1`, [names.slot]),
    deps.catalogPool.query<{ from_lsn: string; to_lsn: string; reason: string; detected_at: Date }>(
      'SELECT from_lsn::text, to_lsn::text, reason, detected_at FROM wal_archive_gaps WHERE slot_name = $1 ORDER BY id DESC LIMIT 10', [names.slot]),
    deps.catalogPool.query<{ lsn: string; schema_name: string; table_name: string; command_tag: string; committed_at: Date }>(
      'SELECT lsn::text, schema_name, table_name, command_tag, committed_at FROM wal_schema_changes WHERE slot_name = $1 ORDER BY id DESC LIMIT 10', [names.slot]),
    deps.temporal ? workflowStatus(deps.temporal, walArchiverWorkflowId(deps.config)) : Promise.resolve(null),
  ]);
  const row = archive.rows[0];
  return {
    slot: names.slot, publication: names.publication, initialized: row !== undefined, slotExists: health !== null,
    publicationExists: source.publication, ddlMarkersInstalled: source.ddlMarkers,
    walStatus: health?.walStatus ?? null, confirmedLsn: health?.confirmedLsn ?? null, archivedLsn: row?.archived_lsn ?? null,
    currentLsn: health?.currentLsn ?? null, lagBytes: health?.lagBytes ?? null, retainedBytes: health?.retainedBytes ?? null,
    safeWalBytes: health?.safeWalBytes ?? null, maxSlotWalKeepSizeBytes: health?.maxSlotWalKeepSizeBytes ?? null,
    lastArchivedAt: row?.archived_at.toISOString() ?? null, lastSegmentAt: row?.last_segment_at?.toISOString() ?? null, segments: row?.segments ?? 0,
    gaps: gaps.rows.map((g) => ({ fromLsn: g.from_lsn, toLsn: g.to_lsn, reason: g.reason, detectedAt: g.detected_at.toISOString() })),
    schemaChanges: changes.rows.map((c) => ({ lsn: c.lsn, table: `${c.schema_name}.${c.table_name}`, command: c.command_tag, committedAt: c.committed_at.toISOString() })),
    workflow,
    warning: warningOf(health && slotLagWarning(health, deps.config.WAL_ARCHIVER_WARN_SAFE_FRACTION), workflow, health !== null, source.ddlMarkers),
  };
}

async function workflowStatus(temporal: TemporalClient, id: string): Promise<{ id: string; status: string }> {
  try {
    return { id, status: (await temporal.workflow.getHandle(id).describe()).status.name };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { id, status: 'NOT_FOUND' };
    throw error;
  }
}

function warningOf(lag: string | null, workflow: { status: string } | null, slotExists: boolean, ddlMarkers: boolean): string | null {
  if (lag) return lag;
  if (workflow && workflow.status !== 'RUNNING') return `the archiver workflow is ${workflow.status}: start a worker with WAL_ARCHIVER=on`;
  if (!slotExists) return 'no archive slot: the archiver has not run against this database (or its slot was dropped)';
  if (!ddlMarkers) return 'the DDL event triggers are missing: schema changes would go unnoticed; run `compliance-ops archiver setup`';
  return null;
}
