import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { Client } from 'pg';
import { Config, loadConfig } from '../config';
import { DatamapService } from '../datamap/datamap.service';
import { AppDatabase } from '../db/databases';
import { createPool } from '../db/pool';
import { createS3Client } from '../s3/s3';
import { localEndpoints } from '../stack/endpoints';
import { ensureArchiveSource } from './archiver-source';
import { ArchiverStatus, readArchiverStatus } from './archiver-status';
import { parseDurationMs } from './pitr-window';
import { archiveNamesFor } from './restore.activities';
import { compactArchive, compactionDependencies, COMPACTION_DEFAULTS, CompactionResult, MergedSegment } from './segment-compaction';
import { clientDataConverter } from '../temporal/data-converter';

/**
 * The publication and DDL event triggers, installed as a role that may (the
 * tables' owner and a superuser: rds_superuser on RDS). The deployment step
 * the service role cannot do itself; `start` runs it on the local demo.
 */
export async function setupArchiveSource(adminUrl: string, config: Config): Promise<string> {
  const pool = createPool(adminUrl, 1);
  const client = new Client({ connectionString: adminUrl, application_name: 'compliance-ops archiver setup' });
  try {
    const map = await new DatamapService(new AppDatabase(pool), config).load();
    const tables = map.tables.filter((t) => t.kind === 'tenant' || t.kind === 'tenants');
    const { publication } = archiveNamesFor(config.DATABASE_URL);
    await client.connect();
    await ensureArchiveSource(client, publication, tables);
    return `publication ${publication} (${tables.length} tables) and DDL event triggers are in place`;
  } finally {
    await client.end().catch(() => undefined);
    await pool.end();
  }
}

export function archiverCommand(): Command {
  const archiver = new Command('archiver').description('the WAL archiver of point-in-time restore');

  archiver.command('status').description('slot, confirmed LSN, lag, WAL safety margin, gaps, schema changes and workflow')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const appPool = createPool(config.DATABASE_URL, 2);
      const catalogPool = createPool(config.CATALOG_DATABASE_URL, 2);
      const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
      try {
        const status = await readArchiverStatus({ config, appPool, catalogPool, temporal: new TemporalClient({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(config) }) });
        process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
        process.exitCode = status.warning ? 1 : 0;
      } finally {
        await connection.close();
        await Promise.allSettled([appPool.end(), catalogPool.end()]);
      }
    });

  archiver.command('setup').description('create the publication and the DDL event triggers in the application database (once, as a superuser)')
    .option('--database-url <url>', 'the application database as a superuser (default: the local demo database)')
    .action(async (options: { databaseUrl?: string }) => {
      process.stdout.write(`${await setupArchiveSource(options.databaseUrl ?? localEndpoints().demoAdminUrl, loadConfig())}\n`);
    });
  archiver.command('compact').description('merge runs of small WAL segments into larger ones now (the snapshot schedule also does it after retention)')
    // The scheduled run's defaults.
    .option('--settle <duration>', 'only segments indexed longer ago than this (0 for all)', `${COMPACTION_DEFAULTS.settleMs / 60_000}m`)
    .option('--grace <duration>', 'keep the merged inputs this long for restores already reading them (0: delete now)', `${COMPACTION_DEFAULTS.graceMs / 3_600_000}h`)
    .option('--tenant <id...>', 'only these tenants (`*` for the table-wide segments)')
    .option('--json', 'machine-readable output')
    .action(async (options: { settle: string; grace: string; tenant?: string[]; json?: boolean }) => {
      const config = loadConfig();
      const catalogPool = createPool(config.CATALOG_DATABASE_URL, 2);
      const s3 = createS3Client(config);
      try {
        const merged: MergedSegment[] = [];
        const result = await compactArchive(
          compactionDependencies(config, catalogPool, s3),
          {
            settleMs: durationOption('--settle', options.settle), graceMs: durationOption('--grace', options.grace), tenantIds: options.tenant,
            budgetMs: Number.POSITIVE_INFINITY,
            onMerged: (m) => (options.json ? merged.push(m) : process.stdout.write(formatMerged(m))),
          },
        );
        process.stdout.write(options.json ? `${JSON.stringify({ ...result, merged }, null, 2)}\n` : formatCompaction(result));
        process.exitCode = result.failedTenants.length > 0 ? 1 : 0;
      } finally {
        s3.destroy();
        await catalogPool.end();
      }
    });
  return archiver;
}

/** `0`, or a duration such as 10m, 6h, 2d. */
function durationOption(name: string, text: string): number {
  if (text.trim() === '0') return 0;
  const ms = parseDurationMs(text);
  if (ms === null) throw new Error(`${name} ${JSON.stringify(text)}: expected 0 or a duration such as 10m, 6h or 2d`);
  return ms;
}

/** One line per committed merge, as it happens. */
export function formatMerged(m: MergedSegment): string {
  return `merged   ${m.tenantId}  ${m.inputs} segments → ${m.objectKey}  (${m.transactions} transactions, ${m.changes} changes, LSN ${m.firstLsn} – ${m.lastLsn})\n`;
}

export function formatCompaction(r: CompactionResult): string {
  const lines = [
    `compacted ${r.inputSegments} segments into ${r.mergedSegments} (${r.transactions} transactions, ${r.changes} changes) over ${r.tenants} tenant(s)`,
    `deleted   ${r.objectsDeleted} object(s) past their grace period${r.abandoned > 0 ? `; ${r.abandoned} merge(s) abandoned (inputs deleted meanwhile)` : ''}`,
    ...r.failedTenants.map((f) => `FAILED    ${f.tenantId}: ${f.message}`),
  ];
  if (r.tenantsLeft > 0) lines.push(`left      ${r.tenantsLeft} tenant(s) for the next run`);
  return `${lines.join('\n')}\n`;
}

const mib = (bytes: number | null) => (bytes === null ? 'unlimited' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

function formatStatus(s: ArchiverStatus): string {
  const lines = [
    `slot         ${s.slot} (${s.slotExists ? s.walStatus ?? 'no WAL reserved' : 'missing'}), publication ${s.publication}${s.publicationExists ? '' : ' (missing)'}`,
    `workflow     ${s.workflow ? `${s.workflow.id} ${s.workflow.status}` : 'unknown'}`,
    `confirmed    ${s.confirmedLsn ?? '-'}  archived ${s.archivedLsn ?? '-'}  current ${s.currentLsn ?? '-'}`,
    s.slotExists
      ? `lag          ${s.lagBytes === null ? '-' : mib(s.lagBytes)}  retained ${s.retainedBytes === null ? '-' : mib(s.retainedBytes)}  safe ${mib(s.safeWalBytes)} of ${mib(s.maxSlotWalKeepSizeBytes)}`
      : 'lag          - (no slot)',
    `last drain   ${s.lastArchivedAt ?? '-'}  last segment ${s.lastSegmentAt ?? '-'}  (${s.segments} segments)`,
    `DDL markers  ${s.ddlMarkersInstalled ? 'installed' : 'MISSING'}`,
    ...s.gaps.map((g) => `gap          ${g.fromLsn} → ${g.toLsn}  ${g.reason}  (${g.detectedAt})`),
    ...s.schemaChanges.map((c) => `schema       ${c.lsn}  ${c.command} ${c.table}  (${c.committedAt})`),
  ];
  if (s.warning) lines.push(`WARNING      ${s.warning}`);
  return `${lines.join('\n')}\n`;
}
