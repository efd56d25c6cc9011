import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { currentActivity, toActivityFailure } from '../erasure/activity-context';
import { normalizeTenantId } from '../erasure/purge-session';
import { kmsKeyring } from '../kms/keyring';
import { ArchiveNames, WalArchiver } from './archiver';
import { ArchiverHeartbeat, ArchiveWalInput, runArchiverActivity } from './archiver-activity';
import { RestoreResult, RestoreStage, runRestore } from './run-restore';
import { RestoreTarget } from './restore-target';
import { takeTenantSnapshot, TenantSnapshot } from './tenant-snapshot';
import { expireStagings, promoteStaging, PromoteResult } from './staging-lifecycle';
import { logger } from '../logger';
import { workerMetrics } from '../metrics/worker-metrics';
import { compactArchive, compactionDependencies } from './segment-compaction';
import type { PromoteWorkflowInput } from '../../workflows/messages';

export interface RestoreActivityDependencies {
  config: Config;
  appPool: Pool;
  catalogPool: Pool;
  s3: S3Client;
  kms: KMSClient;
  loadDataMap(): Promise<DataMap>;
  subjectHashSecret: string | Buffer;
  /** where `GET /v1/requests/{id}` reads live progress from; a returned promise settles once it is recorded */
  reportProgress?(requestId: string, progress: Record<string, unknown>): void | Promise<void>;
}

/**
 * Where a restore stands when a stage starts, for progress bars: loading the
 * snapshot and replaying are most of a restore's time (README, Benchmarks).
 */
const STAGE_PERCENT: Record<RestoreStage, number> = { archive: 2, load: 10, replay: 55, erase: 70, check: 75, swap: 85 };

/** Well under the restore's heartbeat timeout (workflows/restore.workflow.ts). */
const RESTORE_HEARTBEAT_MS = 5_000;

export interface RestoreActivityInput {
  requestId: string;
  tenantId: string;
  target: RestoreTarget;
  mode: 'staging' | 'in-place';
}

/**
 * The archive slot of one application database. Slot names are global to the
 * server, so the database name is part of it: two databases on one server
 * (or two test databases) never share a slot.
 */
export function archiveNamesFor(databaseUrl: string): ArchiveNames {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return { slot: `compliance_ops_pitr_${database}`.slice(0, 63), publication: 'compliance_ops_pitr' };
}

/** The archiver over the application database, as the service role (it has REPLICATION). */
export function archiverFor(deps: Pick<RestoreActivityDependencies, 'config' | 'catalogPool' | 's3' | 'loadDataMap'>): WalArchiver {
  const { config } = deps;
  return new WalArchiver({
    replicationUrl: config.DATABASE_URL, catalogPool: deps.catalogPool, s3: deps.s3, bucket: config.S3_EXPORT_BUCKET,
    sseKmsKeyId: config.S3_SSE_KMS_KEY_ID, keyring: kmsKeyring(config, config.KMS_EXPORT_KEY_ARN), loadDataMap: deps.loadDataMap,
    warnSafeWalFraction: config.WAL_ARCHIVER_WARN_SAFE_FRACTION,
  }, archiveNamesFor(config.DATABASE_URL));
}

/**
 * Restore activities. Each is safe to repeat: a snapshot id or restore id is
 * the request id, a repeated restore rebuilds its staging schema from
 * scratch, and a repeated drain re-archives into the same objects.
 */
export function createRestoreActivities(deps: RestoreActivityDependencies) {
  const archiver = archiverFor(deps);
  const activity = <I, O>(fn: (input: I) => Promise<O>) => async (input: I): Promise<O> => {
    try {
      return await fn(input);
    } catch (error) {
      throw toActivityFailure(error, currentActivity() !== undefined);
    }
  };
  return {
    takeSnapshot: activity(async (input: { requestId: string; tenantId: string }): Promise<TenantSnapshot> => {
      const map = await deps.loadDataMap();
      // A snapshot older than the archive's slot is no restore point (nothing replays from it): the slot
      // comes first. Right after start the supervised archiver may not have created it yet (once it
      // has, the catalog knows the archive, and a scheduled run's many snapshots skip the setup).
      const archived = await archiver.archivedLsn().then(() => true, () => false);
      if (!archived) {
        await archiver.ensure().catch((error: unknown) => logger.warn({ err: error, slot: archiver.names.slot },
          'the WAL archive is not set up; this snapshot is a restore point only for restores the archive covers (compliance-ops archiver status)'));
      }
      return takeTenantSnapshot(deps, map, normalizeTenantId(map, input.tenantId), input.requestId);
    }),

    restoreTenant: activity(async (input: RestoreActivityInput): Promise<RestoreResult> => {
      const map = await deps.loadDataMap();
      // Every restore sweeps expired staging schemas first, so they go even where no snapshot schedule runs.
      await expireStagings(deps, new Date()).catch((error: unknown) => logger.warn({ err: error }, 'expiring restore staging schemas failed; the next restore retries'));
      const ctx = currentActivity();
      let current: RestoreStage | 'start' = 'start';
      // Stages can follow each other within milliseconds: each is recorded after the one before, never overtaking it.
      let recorded: Promise<unknown> = Promise.resolve();
      // A stage can run for minutes (a big snapshot's COPY, a long replay): a steady heartbeat
      // lets Temporal tell a slow restore from a dead worker within the heartbeat timeout.
      const ticker = setInterval(() => ctx?.heartbeat({ stage: current }), RESTORE_HEARTBEAT_MS);
      try {
        return await runRestore({ ...deps, archiver }, map, { restoreId: input.requestId, tenantId: input.tenantId, target: input.target, mode: input.mode }, (stage) => {
          current = stage;
          ctx?.heartbeat({ stage });
          recorded = recorded.then(() => deps.reportProgress?.(input.requestId, { stage, percent: STAGE_PERCENT[stage] })).catch(() => undefined);
        });
      } finally {
        clearInterval(ticker);
      }
    }),

    /** Swaps a staged restore in (staging-lifecycle.ts); a retry after the swap committed answers with the recorded outcome. */
    promoteRestore: activity(async (input: PromoteWorkflowInput): Promise<PromoteResult> => {
      const map = await deps.loadDataMap();
      const tenantId = normalizeTenantId(map, input.tenantId);
      return promoteStaging(deps, map, { restoreId: input.restoreId, tenantId, requestId: input.requestId, by: input.requestedBy });
    }),

    /**
     * The supervised archiver (walArchiverWorkflow): drains the slot every
     * `intervalSeconds` for `maxSeconds`, heartbeating the confirmed LSN.
     * Temporal retries it forever on failure; it resumes from the slot.
     */
    archiveWal: activity((input: ArchiveWalInput): Promise<ArchiverHeartbeat> => runArchiverActivity(archiver, input, currentActivity(), {
      compact: async () => workerMetrics().compactedSegments(await compactArchive(compactionDependencies(deps.config, deps.catalogPool, deps.s3))),
    })),
  };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
