import { Pool } from 'pg';
import { DataMap, TableRef } from '../datamap/datamap.types';
import { workerMetrics } from '../metrics/worker-metrics';
import { hashSubject } from '../receipts/subject-hash';
import { ActivityContextLike, currentActivity, toActivityFailure } from './activity-context';
import { BatchTuning } from './batch-size';
import { scopeValues } from './bind';
import { ErasureCatalog, LegalHold, Tombstone } from './erasure.catalog';
import { BatchProgress, PurgeCursor, PurgeTarget, StepAction, StepCount, SubjectSelector } from './erasure.types';
import { countExpired, ExpiredRows } from './retention';
import { runPurge } from './purge';
import { waitForSwaps } from '../restore/swap-guard';
import { normalizeTenantId, PurgeSession } from './purge-session';
import { Verification, verifyPurge } from './verify';

export interface ErasureActivityDependencies {
  appPool: Pool;
  catalogPool: Pool;
  loadDataMap(): Promise<DataMap>;
  /**
   * The service secret subject hashes are keyed with (receipts' hashSubject):
   * a tombstone names its subject exactly as the receipt does, and outlives
   * the tenant's shreddable hash key.
   */
  subjectHashSecret: string | Buffer;
  /** batch sizes and pacing; production uses the defaults */
  tuning?: Partial<BatchTuning>;
  /** where heartbeats go; defaults to Temporal's activity context (none when called directly) */
  activityContext?: () => ActivityContextLike | undefined;
}

export interface TargetInput {
  requestId: string;
  target: PurgeTarget;
}

export interface ScopeCount {
  requestId: string;
  tenantId: string;
  countedAt: string;
  /** subject targets: whether any subject row matched (no match: every count is 0) */
  subjectFound: boolean | null;
  tables: StepCount[];
}

export interface PurgedTable {
  table: TableRef;
  action: StepAction;
  /** the receipt's count: rows deleted or anonymized, as counted before the first batch */
  rows: number;
  retainedRows: number;
  /** rows already anonymized before this purge */
  keptRows: number;
  /** what this purge's committed batches were seen to affect: a lower bound after a crash, above `rows` if rows arrived mid-purge */
  affectedRows: number;
}

export interface PurgeResult {
  requestId: string;
  tenantId: string;
  countedAt: string;
  tables: PurgedTable[];
  batches: number;
  seconds: number;
}

/** What a purge heartbeats: small, and enough for the next attempt to resume. */
export interface PurgeHeartbeat {
  cursor: PurgeCursor;
  progress: BatchProgress;
}

export interface Eligibility {
  /** false under a legal hold */
  eligible: boolean;
  legalHold: LegalHold | null;
  /** the tenant's tombstone, else the subject's: an earlier erasure request */
  tombstone: Tombstone | null;
}

/**
 * Erasure and retention activities. Every one is safe to repeat: counting
 * returns the first count, purging resumes (or re-runs idempotent batches),
 * tombstones and hash keys are created once. Domain errors become
 * non-retryable failures inside Temporal and stay DomainErrors in direct calls.
 */
export function createErasureActivities(deps: ErasureActivityDependencies) {
  const catalog = new ErasureCatalog(deps.catalogPool);
  const subjectHash = (tenantId: string, subject: SubjectSelector) => hashSubject(deps.subjectHashSecret, tenantId, subject.value);
  const context = () => (deps.activityContext ?? currentActivity)();
  const session = async (requestId: string, target: PurgeTarget) => PurgeSession.open(deps.appPool, catalog, await deps.loadDataMap(), requestId, target);
  const activity = <I, O>(fn: (input: I) => Promise<O>) => async (input: I): Promise<O> => {
    try {
      return await fn(input);
    } catch (error) {
      throw toActivityFailure(error, context() !== undefined);
    }
  };

  return {
    checkEligibility: activity(async (input: { tenantId: string; subject?: SubjectSelector }): Promise<Eligibility> => {
      const tenantId = normalizeTenantId(await deps.loadDataMap(), input.tenantId);
      const legalHold = await catalog.legalHold(tenantId);
      let tombstone = await catalog.findTombstone(tenantId, null);
      if (!tombstone && input.subject) tombstone = await catalog.findTombstone(tenantId, subjectHash(tenantId, input.subject));
      return { eligible: legalHold === null, legalHold, tombstone };
    }),

    /**
     * Tombstone first: from here on, restores and imports refuse to bring the
     * tenant (or subject) back. The subject appears only as hashSubject() of
     * the value as given: callers normalise it the same way everywhere.
     */
    recordTombstone: activity(async (input: { requestId: string; tenantId: string; subject?: SubjectSelector }) => {
      const tenantId = normalizeTenantId(await deps.loadDataMap(), input.tenantId);
      const hash = input.subject ? subjectHash(tenantId, input.subject) : null;
      const { tombstone, created } = await catalog.recordTombstone(tenantId, input.requestId, hash);
      return { tombstone, created, subjectHash: hash };
    }),

    /** Counts the scope once, in one snapshot, and records it; a repeat returns the recorded count. */
    countScope: activity(async (input: TargetInput): Promise<ScopeCount> => (await session(input.requestId, input.target)).count()),

    /**
     * Deletes and anonymizes the counted scope in batches, children first.
     * Heartbeats its cursor after every committed batch and resumes from the
     * last one; reads the legal hold before starting and before each table.
     * The counts it returns are the recorded ones: exact whatever crashed when.
     */
    purge: activity(async (input: TargetInput): Promise<PurgeResult> => {
      const started = performance.now();
      const s = await session(input.requestId, input.target);
      const recorded = await s.recorded();
      await s.assertNoLegalHold();
      const values = scopeValues(s.plan, { ...s.sources(recorded), hashKey: s.plan.needsHashKey ? await catalog.hashKey(s.tenantId) : undefined });
      const ctx = context();
      const previous = ctx?.info.heartbeatDetails as PurgeHeartbeat | undefined;
      // The tombstone is recorded: an in-place restore swapping this tenant in now commits first, and is purged with the rest.
      if (input.target.kind !== 'retention') await waitForSwaps(deps.appPool, s.tenantId);
      const cursor = await runPurge(deps.appPool, s.plan, values, {
        tuning: deps.tuning,
        resume: previous?.cursor,
        signal: ctx?.cancellationSignal,
        beforeStep: () => s.assertNoLegalHold(),
        onBatch: (progress, next) => {
          const action = s.plan.steps[next.stepIndex].action === 'delete' ? 'deleted' : 'anonymized';
          workerMetrics().purgedBatch(input.target.kind === 'retention' ? 'retention' : 'erasure', action, progress.affectedRows, progress.batchMs / 1000);
          ctx?.heartbeat({ cursor: next, progress } satisfies PurgeHeartbeat);
        },
      });
      return {
        requestId: input.requestId,
        tenantId: s.tenantId,
        countedAt: recorded.countedAt,
        tables: recorded.counts.map((c, i) => ({
          table: c.table, action: c.action, rows: c.pendingRows, retainedRows: c.retainedRows, keptRows: c.keptRows, affectedRows: cursor.affectedRows[i],
        })),
        batches: cursor.batches,
        seconds: Math.round(performance.now() - started) / 1000,
      };
    }),

    /** Counts what is left in a fresh snapshot; `verified` only when nothing pending remains. */
    verifyScope: activity(async (input: TargetInput): Promise<Verification> => {
      const s = await session(input.requestId, input.target);
      const recorded = await s.recorded();
      return verifyPurge(deps.appPool, s.plan, scopeValues(s.plan, s.sources(recorded)));
    }),

    /** Crypto-shreds the tenant's hash key: the hashes left in anonymized rows become unlinkable. */
    shredHashKey: activity(async (input: { tenantId: string }) => ({
      shreddedAt: await catalog.shredHashKey(normalizeTenantId(await deps.loadDataMap(), input.tenantId)),
    })),

    /** Retention's dry run: what a purge of expired rows would take now. Records and changes nothing. */
    countExpired: activity(async (input: ExpiredRows): Promise<StepCount> => countExpired(deps.appPool, await deps.loadDataMap(), input)),
  };
}

export type ErasureActivities = ReturnType<typeof createErasureActivities>;
