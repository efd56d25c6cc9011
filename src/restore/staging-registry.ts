import { Pool } from 'pg';
import { z } from 'zod';

/**
 * The catalog's record of restore staging schemas (restore_stagings): each
 * is registered before it holds a row, so none escapes expiry or an erasure,
 * even one a crashed restore left behind.
 */

export type StagingState = 'loading' | 'staged' | 'promoted' | 'dropped';

export const StagingViewSchema = z.object({
  restoreId: z.string().uuid(),
  tenantId: z.string(),
  schema: z.string().describe('the staging schema in the application database'),
  state: z.enum(['loading', 'staged', 'promoted', 'dropped'])
    .describe('loading: being built, or the restore failed; staged: checked, waiting to be promoted or dropped; promoted: swapped in, schema dropped; dropped'),
  rows: z.record(z.string(), z.number().int()).nullable().describe('rows per table, once staged'),
  createdAt: z.string(),
  expiresAt: z.string().describe('when the schema is dropped if nobody promotes or drops it first'),
  endedAt: z.string().nullable(),
  endedBy: z.string().nullable().describe('who or what promoted or dropped it: a principal, `expiry`, `tenant erasure`, `in-place restore`'),
}).meta({
  example: {
    restoreId: '0b1d6c5e-2f0e-4f43-9a6e-6f0d2a7d8c11', tenantId: '6f1c1f7e-3c2a-4a53-9d5e-1b2c3d4e5f60', schema: 'restore_0b1d6c5e2f0e4f439a6e6f0d',
    state: 'staged', rows: { tenants: 1, users: 1800, projects: 540 }, createdAt: '2026-05-01T12:00:00.000Z', expiresAt: '2026-05-04T12:00:00.000Z',
    endedAt: null, endedBy: null,
  },
});
export type StagingView = z.infer<typeof StagingViewSchema>;

export const StagingListSchema = z.array(StagingViewSchema).meta({ example: [StagingViewSchema.meta()!.example] });

/** What the restore recorded when it staged: a promote proves the schema still holds exactly this. */
export type StagedResult = { rows: Record<string, number>; snapshotId: string; appliedTransactions: number; endedByRequest?: string };

interface Row {
  restore_id: string;
  tenant_id: string;
  schema_name: string;
  state: StagingState;
  result: StagedResult | null;
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  ended_by: string | null;
}

const view = (r: Row): StagingView => ({
  restoreId: r.restore_id, tenantId: r.tenant_id, schema: r.schema_name, state: r.state, rows: r.result?.rows ?? null,
  createdAt: r.created_at.toISOString(), expiresAt: r.expires_at.toISOString(),
  endedAt: r.ended_at?.toISOString() ?? null, endedBy: r.ended_by,
});

export class StagingRegistry {
  constructor(private readonly catalogPool: Pool) {}

  /** Before the schema is created. A retried restore registers again: it rebuilds the same schema, so it starts over as loading. */
  async register(input: { restoreId: string; tenantId: string; schema: string; ttlMs: number }): Promise<void> {
    await this.catalogPool.query(
      `INSERT INTO restore_stagings (restore_id, tenant_id, schema_name, state, expires_at)
       VALUES ($1, $2, $3, 'loading', now() + $4 * interval '1 millisecond')
       ON CONFLICT (restore_id) DO UPDATE SET state = 'loading', result = NULL, ended_at = NULL, ended_by = NULL`,
      [input.restoreId, input.tenantId, input.schema, input.ttlMs]);
  }

  async staged(restoreId: string, result: StagedResult): Promise<void> {
    await this.catalogPool.query(`UPDATE restore_stagings SET state = 'staged', result = $2 WHERE restore_id = $1`, [restoreId, result]);
  }

  /** Rows per table after the staged copy changed on purpose (a subject erased in it again). */
  async recount(restoreId: string, rows: Record<string, number>): Promise<void> {
    await this.catalogPool.query(`UPDATE restore_stagings SET result = jsonb_set(result, '{rows}', $2) WHERE restore_id = $1 AND result IS NOT NULL`, [restoreId, rows]);
  }

  /**
   * The end of a staging schema: promoted (swapped in) or dropped, by whom,
   * and the request that did it (so a retried promote knows it already ran).
   */
  async ended(restoreId: string, state: 'promoted' | 'dropped', by: string, requestId?: string): Promise<void> {
    await this.catalogPool.query(
      `UPDATE restore_stagings SET state = $2, ended_at = now(), ended_by = $3,
         result = CASE WHEN $4::text IS NULL THEN result ELSE coalesce(result, '{}') || jsonb_build_object('endedByRequest', $4::text) END
       WHERE restore_id = $1`, [restoreId, state, by, requestId ?? null]);
  }

  async find(tenantId: string, restoreId: string): Promise<StagingView & { result: StagedResult | null } | null> {
    const { rows } = await this.catalogPool.query<Row>('SELECT * FROM restore_stagings WHERE restore_id = $1 AND tenant_id = $2', [restoreId, tenantId]);
    return rows[0] ? { ...view(rows[0]), result: rows[0].result } : null;
  }

  /** The tenant's staging schemas, newest first; `live`: only those that still exist. */
  async list(tenantId: string, options: { live?: boolean; limit?: number } = {}): Promise<StagingView[]> {
    const { rows } = await this.catalogPool.query<Row>(
      `SELECT * FROM restore_stagings WHERE tenant_id = $1 AND (NOT $2 OR state IN ('loading', 'staged'))
       ORDER BY created_at DESC LIMIT $3`, [tenantId, options.live ?? false, options.limit ?? 100]);
    return rows.map(view);
  }

  /** Schemas past their expiry that still exist. */
  async expired(now: Date): Promise<StagingView[]> {
    const { rows } = await this.catalogPool.query<Row>(
      `SELECT * FROM restore_stagings WHERE state IN ('loading', 'staged') AND expires_at <= $1 ORDER BY expires_at`, [now]);
    return rows.map(view);
  }
}
