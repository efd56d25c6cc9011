import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../logger';
import { ActivityContextLike } from '../erasure/activity-context';
import { DrainResult, WalArchiver } from './archiver';

/** Well under the archiver's heartbeat timeout (workflows/restore.workflow.ts). */
const LIVENESS_HEARTBEAT_MS = 5_000;

export interface ArchiveWalInput {
  /** pause between drains once the slot is caught up */
  intervalSeconds: number;
  /** how long one activity runs before it returns and the workflow continues as new */
  maxSeconds: number;
}

/** What the archiver heartbeats: enough for an operator reading the workflow, and for the next attempt's log line. */
export type ArchiverHeartbeat = DrainResult & {
  slot: string;
  /** cumulative over this attempt */
  drains: number;
  attemptTransactions: number;
  attemptChanges: number;
  at: string;
};

/**
 * The supervised archiver's body: ensure the source and slot, then drain,
 * heartbeat, pause, until `maxSeconds` pass or the activity is cancelled;
 * meanwhile, once, compact the archive's settled segments (`compact`).
 * There is no state to resume but the slot itself: the slot is confirmed
 * only to what is durable, so a new attempt (after a crash, a deploy, a lost
 * worker) just drains again from it. The heartbeat carries the last
 * confirmed LSN so a retry can say where its predecessor got to.
 */
export async function runArchiverActivity(
  archiver: WalArchiver, input: ArchiveWalInput, ctx: ActivityContextLike | undefined, options: { compact?: () => Promise<unknown> } = {},
): Promise<ArchiverHeartbeat> {
  const previous = ctx?.info.heartbeatDetails as ArchiverHeartbeat | undefined;
  const started = Date.now();
  const finished = { transactions: 0, changes: 0 };
  let beat: ArchiverHeartbeat | undefined;
  const heartbeat = (drain: DrainResult, drains: number) => {
    beat = {
      ...drain, slot: archiver.names.slot, drains,
      attemptTransactions: finished.transactions + drain.transactions,
      attemptChanges: finished.changes + drain.changes,
      at: new Date().toISOString(),
    };
    ctx?.heartbeat(beat);
  };
  // Between batches too: one peek of a huge transaction can outlast the heartbeat timeout,
  // and only a dead worker should look dead.
  const ticker = setInterval(() => ctx?.heartbeat(beat ?? { slot: archiver.names.slot, starting: true }), LIVENESS_HEARTBEAT_MS);
  let compaction: Promise<unknown> | undefined;
  try {
    const ensured = await archiver.ensure();
    // Once an attempt (about hourly), beside the drains: the last hour's small segments merged, so a
    // restore later today reads a few objects, not one per drain (segment-compaction.ts).
    compaction = options.compact?.().catch((error: unknown) => logger.warn({ err: error, slot: archiver.names.slot }, 'WAL segment compaction failed; the next attempt tries again'));
    logger.info({ slot: archiver.names.slot, previousArchivedLsn: previous?.archivedLsn, gap: ensured.gap }, previous
      ? 'WAL archiver resuming from its slot after an interrupted attempt'
      : 'WAL archiver started');
    for (let drains = 1; ; drains++) {
      const drain = await archiver.archiveOnce(undefined, (progress) => heartbeat(progress, drains));
      heartbeat(drain, drains);
      finished.transactions += drain.transactions;
      finished.changes += drain.changes;
      if (Date.now() - started >= input.maxSeconds * 1000 || ctx?.cancellationSignal?.aborted) return beat!;
      try {
        await sleep(input.intervalSeconds * 1000, undefined, { signal: ctx?.cancellationSignal });
      } catch {
        return beat!; // cancelled (or the worker is shutting down) while pausing: nothing is half done
      }
    }
  } finally {
    await compaction;
    clearInterval(ticker);
  }
}
