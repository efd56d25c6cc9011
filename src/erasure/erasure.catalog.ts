import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { withTransaction } from '../db/pool';
import { sqlQuery } from '../db/sql-files';
import { conflict } from '../errors';
import { PurgeTarget, StepAction, StepCount } from './erasure.types';

const query = (file: string) => sqlQuery('erasure', file);

/** A purge's scope as counted before its first batch. */
export interface RecordedScope {
  /** what was counted: the target without any subject identifier */
  target: Record<string, unknown>;
  subjectKeys: string | null;
  countedAt: string;
  counts: StepCount[];
}

export interface LegalHold {
  reason: string;
  placedBy: string;
  placedAt: string;
}

export interface Tombstone {
  id: string;
  requestId: string;
  createdAt: string;
}

interface CountRow {
  step: number;
  schema: string;
  name: string;
  action: StepAction;
  pendingRows: string;
  retainedRows: string;
  keptRows: string;
}

/** The target as the catalog may keep it: a subject appears as its column only, never its value. */
export function describeTarget(target: PurgeTarget): Record<string, unknown> {
  if (target.kind === 'subject') return { kind: 'subject', column: target.subject.column };
  return { ...target };
}

/** The catalog's side of purges: counted scopes, legal holds, tombstones and hash keys. */
export class ErasureCatalog {
  constructor(private readonly pool: Pool) {}

  async findScope(requestId: string, tenantId: string): Promise<RecordedScope | null> {
    const { rows } = await this.pool.query(query('scope-find.sql'), [requestId, tenantId]);
    if (rows.length === 0) return null;
    const row = rows[0] as { target: Record<string, unknown>; subject_keys: string | null; counted_at: Date; counts: CountRow[] };
    return {
      target: row.target,
      subjectKeys: row.subject_keys,
      countedAt: row.counted_at.toISOString(),
      counts: row.counts.map((c) => ({
        table: { schema: c.schema, name: c.name }, action: c.action,
        pendingRows: Number(c.pendingRows), retainedRows: Number(c.retainedRows), keptRows: Number(c.keptRows),
      })),
    };
  }

  /** Records the scope unless the request already has one; either way returns the one that stands. */
  async recordScope(requestId: string, tenantId: string, scope: Omit<RecordedScope, 'countedAt'>): Promise<RecordedScope> {
    await withTransaction(this.pool, async (client) => {
      const inserted = await client.query(query('scope-insert.sql'), [requestId, tenantId, scope.target, scope.subjectKeys]);
      if (inserted.rowCount === 0) return; // counted before (a retry): the first count stands
      const c = scope.counts;
      await client.query(query('counts-insert.sql'), [requestId, tenantId, c.map((_, i) => i), c.map((s) => s.table.schema),
        c.map((s) => s.table.name), c.map((s) => s.action), c.map((s) => s.pendingRows), c.map((s) => s.retainedRows), c.map((s) => s.keptRows)]);
    });
    return (await this.findScope(requestId, tenantId))!;
  }

  async legalHold(tenantId: string): Promise<LegalHold | null> {
    const { rows } = await this.pool.query<{ reason: string; placed_by: string; placed_at: Date }>(query('legal-hold-find.sql'), [tenantId]);
    return rows[0] ? { reason: rows[0].reason, placedBy: rows[0].placed_by, placedAt: rows[0].placed_at.toISOString() } : null;
  }

  async findTombstone(tenantId: string, subjectHash: string | null): Promise<Tombstone | null> {
    const { rows } = await this.pool.query(query('tombstone-find.sql'), [tenantId, subjectHash]);
    return rows[0] ? toTombstone(rows[0]) : null;
  }

  /** The first tombstone for the tenant (or subject) wins; `created` says whether it is this request's. */
  async recordTombstone(tenantId: string, requestId: string, subjectHash: string | null): Promise<{ tombstone: Tombstone; created: boolean }> {
    const { rows } = await this.pool.query(query('tombstone-insert.sql'), [tenantId, requestId, subjectHash]);
    if (rows[0]) return { tombstone: toTombstone(rows[0]), created: true };
    return { tombstone: (await this.findTombstone(tenantId, subjectHash))!, created: false };
  }

  /** The tenant's hash key, created on first use. A shredded key is an error, not a reason to make a new one. */
  async hashKey(tenantId: string): Promise<Buffer> {
    await this.pool.query(query('hash-key-create.sql'), [tenantId, randomBytes(32)]);
    const { rows } = await this.pool.query<{ hash_key: Buffer | null; shredded_at: Date | null }>(query('hash-key-find.sql'), [tenantId]);
    if (!rows[0]?.hash_key) {
      throw conflict('hash_key_shredded', `The hash key of tenant ${tenantId} was shredded; values of this tenant can no longer be hashed.`);
    }
    return rows[0].hash_key;
  }

  async shredHashKey(tenantId: string): Promise<string> {
    const { rows } = await this.pool.query<{ shredded_at: Date }>(query('hash-key-shred.sql'), [tenantId]);
    return rows[0].shredded_at.toISOString();
  }
}

function toTombstone(row: { id: string; request_id: string; created_at: Date }): Tombstone {
  return { id: String(row.id), requestId: row.request_id, createdAt: row.created_at.toISOString() };
}
