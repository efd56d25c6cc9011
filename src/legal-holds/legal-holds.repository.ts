import { Pool } from 'pg';
import { withTransaction } from '../db/pool';

export interface LegalHoldView {
  tenantId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
}

/** Legal holds in the catalog; placing and lifting one are both in the audit trail. */
export class LegalHoldsRepository {
  constructor(private readonly pool: Pool) {}

  async place(tenantId: string, reason: string, actor: string): Promise<LegalHoldView> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ tenant_id: string; reason: string; placed_by: string; placed_at: Date }>(
        `INSERT INTO legal_holds (tenant_id, reason, placed_by) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET reason = EXCLUDED.reason
         RETURNING tenant_id, reason, placed_by, placed_at`,
        [tenantId, reason, actor]);
      await client.query(
        `INSERT INTO request_events (actor, event, details) VALUES ($1, 'legal_hold_placed', $2)`,
        [actor, { tenantId, reason }]);
      const row = rows[0];
      return { tenantId: row.tenant_id, reason: row.reason, placedBy: row.placed_by, placedAt: row.placed_at.toISOString() };
    });
  }

  /** True when there was a hold to lift. */
  async lift(tenantId: string, actor: string): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const removed = await client.query('DELETE FROM legal_holds WHERE tenant_id = $1', [tenantId]);
      if (removed.rowCount === 0) return false;
      await client.query(`INSERT INTO request_events (actor, event, details) VALUES ($1, 'legal_hold_lifted', $2)`,
        [actor, { tenantId }]);
      return true;
    });
  }

  async get(tenantId: string): Promise<LegalHoldView | undefined> {
    const { rows } = await this.pool.query<{ tenant_id: string; reason: string; placed_by: string; placed_at: Date }>(
      'SELECT tenant_id, reason, placed_by, placed_at FROM legal_holds WHERE tenant_id = $1', [tenantId]);
    const row = rows[0];
    return row && { tenantId: row.tenant_id, reason: row.reason, placedBy: row.placed_by, placedAt: row.placed_at.toISOString() };
  }
}
