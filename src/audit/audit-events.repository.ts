import { Pool } from 'pg';

/** One entry of the audit trail: who did what to which request, when, and from where. */
export interface AuditEventView {
  /** position in the trail; pass the last one seen as `after` for the next page */
  id: string;
  at: string;
  requestId: string | null;
  tenantId: string | null;
  kind: string | null;
  /** the caller's token subject (a person, `api-key:<id>`), or `workflow` for state changes */
  actor: string;
  /** `requested`, `status`, `cancel_requested`… */
  event: string;
  fromStatus: string | null;
  toStatus: string | null;
  /** e.g. `from` (the caller's address) and the request's parameters, never a subject's value */
  details: Record<string, unknown>;
}

export interface AuditFilter {
  requestId?: string;
  tenantId?: string;
  /** id of the last event of the previous page (pages run oldest first, as the trail was written) */
  after?: string;
  limit: number;
}

interface AuditRow {
  id: string;
  at: Date;
  request_id: string | null;
  tenant_id: string | null;
  kind: string | null;
  actor: string;
  event: string;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, unknown>;
}

/** Reads the append-only request_events table (a trigger refuses UPDATE and DELETE). */
export class AuditEventsRepository {
  constructor(private readonly pool: Pool) {}

  async list(filter: AuditFilter): Promise<AuditEventView[]> {
    const { rows } = await this.pool.query<AuditRow>(
      // Legal-hold events belong to no request: their tenant is in the details.
      `SELECT e.id::text AS id, e.at, e.request_id, COALESCE(r.tenant_id, e.details ->> 'tenantId') AS tenant_id, r.kind, e.actor, e.event, e.from_status, e.to_status, e.details
         FROM request_events e LEFT JOIN requests r ON r.id = e.request_id
        WHERE ($1::uuid IS NULL OR e.request_id = $1)
          AND ($2::text IS NULL OR COALESCE(r.tenant_id, e.details ->> 'tenantId') = $2)
          AND ($3::bigint IS NULL OR e.id > $3)
        ORDER BY e.id
        LIMIT $4`,
      [filter.requestId ?? null, filter.tenantId ?? null, filter.after ?? null, filter.limit]);
    return rows.map((row) => ({
      id: row.id, at: row.at.toISOString(), requestId: row.request_id, tenantId: row.tenant_id, kind: row.kind,
      actor: row.actor, event: row.event, fromStatus: row.from_status, toStatus: row.to_status, details: row.details,
    }));
  }
}
