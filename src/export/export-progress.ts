import { Pool } from 'pg';
import { withTenantTransaction } from '../db/pool';
import { ExportProgress } from './export.types';
import { TableCopy } from './plan';

/** Below 100 until the manifest is written: the last steps (schema, signature, manifest) take time too. */
const MAX_RUNNING_PERCENT = 99;

/**
 * The planner's estimate of the tenant's rows in each table (EXPLAIN only:
 * planning, no scan). The data map's table sizes count every tenant's rows;
 * this counts the ones the export will read, from the column statistics.
 */
export async function estimateRows(pool: Pool, tenantId: string, copies: TableCopy[]): Promise<Map<string, number>> {
  return withTenantTransaction(pool, tenantId, async (client) => {
    const estimates = new Map<string, number>();
    for (const copy of copies) {
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(`EXPLAIN (FORMAT JSON) ${copy.select}`);
      estimates.set(copy.path, rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
    }
    return estimates;
  });
}

/**
 * Turns per-table progress into progress of the whole export. Files kept
 * from an earlier attempt count as done from the start, so a resumed export
 * starts where it was, not at 0; an export that had to start over says so
 * (`restarted`) and counts from 0. A table's share is its estimate until it
 * is done, then its real row count; the percent never goes backwards.
 */
export class ExportProgressTracker {
  private readonly expected = new Map<string, number>();
  private readonly copied = new Map<string, number>();
  private percent = 0;

  constructor(private readonly restarted: boolean) {}

  /** A file whose rows are all there already: kept from an earlier attempt, or just finished. */
  done(path: string, rows: number): void {
    this.expected.set(path, rows);
    this.copied.set(path, rows);
  }

  expect(path: string, estimatedRows: number): void {
    this.expected.set(path, estimatedRows);
  }

  /** The table's progress, with the export's percent added. */
  update(progress: ExportProgress): ExportProgress {
    this.copied.set(progress.table, progress.rows);
    let total = 0;
    let copied = 0;
    for (const rows of this.copied.values()) copied += rows;
    for (const path of new Set([...this.expected.keys(), ...this.copied.keys()])) {
      total += Math.max(this.expected.get(path) ?? 0, this.copied.get(path) ?? 0);
    }
    const now = total === 0 ? 0 : Math.floor((100 * copied) / total);
    this.percent = Math.max(this.percent, Math.min(MAX_RUNNING_PERCENT, now));
    return { ...progress, percent: this.percent, ...(this.restarted ? { restarted: true } : {}) };
  }
}
