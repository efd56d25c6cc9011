import { ApplicationFailure, Context } from '@temporalio/activity';
import { DataMap } from '../datamap/datamap.types';
import { DomainError } from '../errors';
import { deletePrefix } from '../s3/prefix';
import { ExportCursor, ExportFormat, ExportProgress, ExportResult } from './export.types';
import { exportPrefix } from './layout';
import { ExportDependencies, ExportOptions, runExport } from './run-export';

export interface ExportActivityInput {
  requestId: string;
  tenantId: string;
  subject?: { column: string; value: string };
  format: ExportFormat;
  tables?: string[];
}

export interface ExportActivityDependencies extends ExportDependencies {
  loadDataMap(): Promise<DataMap>;
  /** tuning for tests and benchmarks; production uses the defaults */
  options?: Pick<ExportOptions, 'parallelTables' | 'chunkBytes' | 'compressionLevel'>;
  /** where `GET /v1/requests/{id}` reads live progress from (the catalog); throttled by the caller */
  reportProgress?(requestId: string, progress: ExportProgress): void;
}

/** What every heartbeat carries: the latest progress, and the cursor a retry resumes from. */
export interface ExportHeartbeat {
  progress: ExportProgress | null;
  cursor: ExportCursor | null;
}

/**
 * The export activity. Inside a Temporal activity it heartbeats progress and
 * the resume cursor, resumes from the last attempt's heartbeat, and stops
 * (COPYs destroyed, uploads aborted) when cancelled; a cancel the workflow
 * asked for also deletes what was written. Called directly (tests, CLI) it
 * simply runs.
 */
export function createExportActivities(deps: ExportActivityDependencies) {
  return {
    async runExport(input: ExportActivityInput): Promise<ExportResult> {
      const activity = currentActivity();
      const previous = activity?.info.heartbeatDetails as ExportHeartbeat | undefined;
      const beat: ExportHeartbeat = { progress: null, cursor: previous?.cursor ?? null };
      const scope = input.subject ? { tenantId: input.tenantId, subject: input.subject } : { tenantId: input.tenantId };
      try {
        const map = await deps.loadDataMap();
        return await runExport(deps, map, { requestId: input.requestId, scope, format: input.format, tables: input.tables }, {
          ...deps.options,
          signal: activity?.cancellationSignal,
          resume: beat.cursor ?? undefined,
          onProgress(progress) {
            beat.progress = progress;
            activity?.heartbeat(beat);
            deps.reportProgress?.(input.requestId, progress);
          },
          onCursor(cursor) {
            beat.cursor = cursor;
            activity?.heartbeat(beat);
          },
        });
      } catch (error) {
        if (activity?.cancellationSignal.aborted) {
          if (activity.cancellationDetails?.cancelRequested) await discard(deps, input);
          // Rethrow Temporal's own CancelledFailure, so the workflow sees a cancellation, not a failure.
          throw activity.cancellationSignal.reason;
        }
        throw toActivityFailure(error);
      }
    },

    /**
     * Deletes whatever a cancelled export wrote. The workflow calls it after
     * every cancellation, because runExport may finish (or die) before it
     * hears of the cancel, and then nothing else would clean up.
     */
    async discardExport(input: ExportActivityInput): Promise<void> {
      await discard(deps, input);
    },
  };
}

export type ExportActivities = ReturnType<typeof createExportActivities>;

function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // not inside an activity: a test or the CLI calling directly
  }
}

/** A cancelled export leaves nothing behind: no chunks, no unfinished multipart uploads. */
async function discard(deps: ExportDependencies, input: ExportActivityInput): Promise<void> {
  // runExport writes uuid tenant ids in lowercase; do the same to find its prefix.
  const tenantId = /^[0-9a-f-]{36}$/i.test(input.tenantId) ? input.tenantId.toLowerCase() : input.tenantId;
  await deletePrefix(deps.s3, deps.config.S3_EXPORT_BUCKET, exportPrefix(tenantId, input.requestId)).catch(() => undefined);
}

/** Domain errors (bad input, unknown tenant) cannot be cured by a retry; everything else may be transient. */
function toActivityFailure(error: unknown): unknown {
  if (error instanceof DomainError) {
    return ApplicationFailure.create({
      type: error.code,
      message: error.message,
      nonRetryable: true,
      details: [{ kind: error.kind, code: error.code, ...(error.details ?? {}) }],
    });
  }
  return error;
}
