import { Counter, Histogram } from 'prom-client';
import { processRegistry } from './registry';

/** `non_retryable`: the activity itself said no retry can help (bad input, legal hold…); `failed`: anything else. */
export type ActivityFailureReason = 'cancelled' | 'non_retryable' | 'failed';

/**
 * The worker's Prometheus metrics: work done by capability, batch latency and
 * failures. Counted in the process that did the work, so several workers each
 * report their share; Prometheus sums them. No tenant label: tenants are
 * unbounded, and per-tenant numbers live in each request's result.
 */
export class WorkerMetrics {
  private readonly rows = new Counter({
    name: 'compliance_ops_rows_processed_total',
    help: 'Rows processed by capability and action (export: exported; erasure and retention: deleted, anonymized; restore: replayed)',
    labelNames: ['capability', 'action'] as const,
    registers: [processRegistry()],
  });
  private readonly bytes = new Counter({
    name: 'compliance_ops_bytes_processed_total',
    help: 'Plaintext bytes processed by capability (export: table data before compression and encryption)',
    labelNames: ['capability'] as const,
    registers: [processRegistry()],
  });
  private readonly purgeBatch = new Histogram({
    name: 'compliance_ops_purge_batch_seconds',
    help: 'Latency of one committed erasure or retention batch (one short transaction)',
    labelNames: ['capability'] as const,
    // Batches are sized to take 100–200 ms; the tail shows lock waits and retries.
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30],
    registers: [processRegistry()],
  });
  private readonly exportChunk = new Histogram({
    name: 'compliance_ops_export_chunk_seconds',
    help: 'Time to copy, compress, encrypt and upload one export chunk (up to 128 MiB of plaintext)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [processRegistry()],
  });
  private readonly compaction = new Counter({
    name: 'compliance_ops_wal_compaction_segments_total',
    help: 'WAL segments compaction replaced (merged), wrote in their place (written), and objects it deleted once their grace period was over (deleted)',
    labelNames: ['action'] as const,
    registers: [processRegistry()],
  });
  private readonly activityFailures = new Counter({
    name: 'compliance_ops_activity_failures_total',
    help: 'Activity attempts that failed, by activity type and reason (cancelled, non_retryable, failed)',
    labelNames: ['activity_type', 'reason'] as const,
    registers: [processRegistry()],
  });
  private readonly workflowFailures = new Counter({
    name: 'compliance_ops_workflow_failures_total',
    help: 'Workflows that recorded their request as failed, by workflow type',
    labelNames: ['workflow_type'] as const,
    registers: [processRegistry()],
  });

  exportedChunk(chunk: { rows: number; bytes: number }, seconds: number): void {
    this.rows.inc({ capability: 'export', action: 'exported' }, chunk.rows);
    this.bytes.inc({ capability: 'export' }, chunk.bytes);
    this.exportChunk.observe(seconds);
  }

  purgedBatch(capability: 'erasure' | 'retention', action: 'deleted' | 'anonymized', rows: number, seconds: number): void {
    this.rows.inc({ capability, action }, rows);
    this.purgeBatch.observe({ capability }, seconds);
  }

  replayedRows(rows: number): void {
    this.rows.inc({ capability: 'restore', action: 'replayed' }, rows);
  }

  compactedSegments(result: { inputSegments: number; mergedSegments: number; objectsDeleted: number }): void {
    this.compaction.inc({ action: 'merged' }, result.inputSegments);
    this.compaction.inc({ action: 'written' }, result.mergedSegments);
    this.compaction.inc({ action: 'deleted' }, result.objectsDeleted);
  }

  activityFailed(activityType: string, reason: ActivityFailureReason): void {
    this.activityFailures.inc({ activity_type: activityType, reason });
  }

  workflowFailed(workflowType: string): void {
    this.workflowFailures.inc({ workflow_type: workflowType });
  }
}

let instance: WorkerMetrics | undefined;

/** The process's worker metrics; created on first use, so a process that never works never lists them. */
export function workerMetrics(): WorkerMetrics {
  instance ??= new WorkerMetrics();
  return instance;
}
