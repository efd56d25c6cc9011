import { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { sqlState, SQLSTATE } from '../db/sqlstate';
import { conflict } from '../errors';
import { NewRequest, RequestKind, RequestStatus, RequestView } from './request.types';

interface RequestRow {
  id: string;
  kind: RequestKind;
  tenant_id: string | null;
  status: RequestStatus;
  progress: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  receipt_id: string | null;
  body_sha256: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, kind, tenant_id, status, progress, result, error, receipt_id, body_sha256, created_at, updated_at';

function toView(row: RequestRow): RequestView {
  return {
    id: row.id, kind: row.kind, tenantId: row.tenant_id, status: row.status,
    progress: row.progress, result: row.result, error: row.error, receiptId: row.receipt_id,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}

export interface RequestFilter {
  tenantId?: string;
  kind?: RequestKind;
  status?: RequestStatus;
  /** id of the last request of the previous page (pages run newest first) */
  after?: string;
  limit: number;
}

/** The catalog's requests and their append-only event trail. */
export class RequestsRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Records a new request, or returns the caller's earlier one for the same
   * Idempotency-Key (`created: false`); the same key with another body is a conflict.
   * With `onePerTenant`, a request of the same kind and tenant that is still
   * queued or running caps it: the same body joins it (`created: false`),
   * another body is a conflict naming it. Heavy operations (a whole-tenant
   * COPY) then never run twice at once for one tenant.
   */
  async create(request: NewRequest, from?: string, options: { onePerTenant?: boolean } = {}): Promise<{ request: RequestView; created: boolean }> {
    try {
      return await withTransaction(this.pool, async (client) => {
        if (options.onePerTenant) {
          // Serialises creators for this kind and tenant until commit; a second creator then sees the first's row.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`live:${request.kind}:${request.tenantId}`]);
          const earlier = await this.byIdempotencyKey(client, request);
          if (earlier) return { request: earlier, created: false };
          const live = await client.query<RequestRow>(
            `SELECT ${COLUMNS} FROM requests WHERE kind = $1 AND tenant_id = $2 AND status IN ('queued', 'running')
              ORDER BY created_at LIMIT 1`, [request.kind, request.tenantId]);
          if (live.rows[0]) {
            if (live.rows[0].body_sha256 === (request.bodySha256 ?? null)) return { request: toView(live.rows[0]), created: false };
            throw conflict(`${request.kind}_in_progress`, `another ${request.kind} of this tenant is running; retry when it ends`,
              { requestId: live.rows[0].id });
          }
        }
        const { rows } = await client.query<RequestRow>(
          `INSERT INTO requests (id, kind, tenant_id, params, workflow_id, requested_by, idempotency_key, body_sha256)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
          [request.id, request.kind, request.tenantId, request.params, request.workflowId, request.requestedBy,
            request.idempotencyKey ?? null, request.bodySha256 ?? null],
        );
        await this.event(client, request.id, request.requestedBy, 'requested', null, 'queued', { from, params: request.params });
        return { request: toView(rows[0]), created: true };
      });
    } catch (error) {
      // Two requests with one key raced past the lookup: the unique index let one through.
      if (sqlState(error) !== SQLSTATE.uniqueViolation || !request.idempotencyKey) throw error;
      const earlier = await this.byIdempotencyKey(this.pool, request);
      if (!earlier) throw error;
      return { request: earlier, created: false };
    }
  }

  /** The caller's earlier request under the same Idempotency-Key; a conflict if its body differs. */
  private async byIdempotencyKey(client: Pool | PoolClient, request: NewRequest): Promise<RequestView | undefined> {
    if (!request.idempotencyKey) return undefined;
    const { rows } = await client.query<RequestRow>(
      `SELECT ${COLUMNS} FROM requests WHERE requested_by = $1 AND idempotency_key = $2`,
      [request.requestedBy, request.idempotencyKey],
    );
    if (rows.length === 0) return undefined;
    if (rows[0].body_sha256 !== (request.bodySha256 ?? null)) {
      throw conflict('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body');
    }
    return toView(rows[0]);
  }

  /** The Temporal workflow carrying a request (kinds name their workflows differently). */
  async workflowIdOf(id: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM requests WHERE id = $1', [id]);
    return rows[0]?.workflow_id;
  }

  /** An audit-trail entry that is not a state change, e.g. who asked to cancel and from where. */
  async recordEvent(requestId: string, actor: string, event: string, details: Record<string, unknown>): Promise<void> {
    await this.pool.query(
      'INSERT INTO request_events (request_id, actor, event, details) VALUES ($1, $2, $3, $4)', [requestId, actor, event, details]);
  }

  /** The erasure that holds the slot for this tenant or subject (see migration 000004), if any. */
  async findLiveErasure(tenantId: string, subjectHash: string | null): Promise<RequestView | undefined> {
    const { rows } = await this.pool.query<RequestRow>(
      `SELECT ${COLUMNS} FROM requests
        WHERE kind = 'erasure' AND tenant_id = $1 AND COALESCE(params ->> 'subjectHash', '') = COALESCE($2, '')
          AND status NOT IN ('cancelled', 'failed')`,
      [tenantId, subjectHash]);
    return rows[0] && toView(rows[0]);
  }

  async get(id: string): Promise<RequestView | undefined> {
    const { rows } = await this.pool.query<RequestRow>(`SELECT ${COLUMNS} FROM requests WHERE id = $1`, [id]);
    return rows[0] && toView(rows[0]);
  }

  async list(filter: RequestFilter): Promise<RequestView[]> {
    const { rows } = await this.pool.query<RequestRow>(
      `SELECT ${COLUMNS} FROM requests
        WHERE ($1::text IS NULL OR tenant_id = $1)
          AND ($2::text IS NULL OR kind = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM requests WHERE id = $4))
        ORDER BY created_at DESC, id DESC
        LIMIT $5`,
      [filter.tenantId ?? null, filter.kind ?? null, filter.status ?? null, filter.after ?? null, filter.limit],
    );
    return rows.map(toView);
  }

  /**
   * Moves a request to `status` and records the transition; a finished request never moves again.
   * True when the status changed (a repeated call after a retry answers false).
   */
  async transition(
    id: string,
    status: RequestStatus,
    actor: string,
    patch: { progress?: unknown; result?: unknown; error?: unknown; receiptId?: string } = {},
  ): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ status: RequestStatus }>(
        'SELECT status FROM requests WHERE id = $1 FOR UPDATE', [id]);
      const from = rows[0]?.status;
      if (from === undefined || ['succeeded', 'failed', 'cancelled'].includes(from)) return false;
      await client.query(
        `UPDATE requests SET status = $2, progress = COALESCE($3, progress), result = COALESCE($4, result),
                error = COALESCE($5, error), receipt_id = COALESCE($6, receipt_id), updated_at = now()
          WHERE id = $1`,
        [id, status, patch.progress ?? null, patch.result ?? null, patch.error ?? null, patch.receiptId ?? null],
      );
      if (from !== status) await this.event(client, id, actor, 'status', from, status, patch.error ? { error: patch.error } : {});
      return from !== status;
    });
  }

  /** Progress changes often: no event, just the latest value. */
  async reportProgress(id: string, progress: unknown): Promise<void> {
    await this.pool.query('UPDATE requests SET progress = $2, updated_at = now() WHERE id = $1', [id, progress]);
  }

  private async event(client: PoolClient, requestId: string, actor: string, event: string,
    from: string | null, to: string | null, details: Record<string, unknown>): Promise<void> {
    await client.query(
      `INSERT INTO request_events (request_id, actor, event, from_status, to_status, details) VALUES ($1, $2, $3, $4, $5, $6)`,
      [requestId, actor, event, from, to, details],
    );
  }
}
