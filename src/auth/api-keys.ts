import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DomainError } from '../errors';
import { Principal, Role } from './principal';

/** Every API key starts with it, so the guard tells a key from a JWT without trying both (a JWT has dots). */
export const API_KEY_PREFIX = 'coak_';
const API_KEY_FORMAT = /^coak_[A-Za-z0-9_-]{43}$/;
/** Enough of the key to recognise it in a listing; 30 bits of 256, so it gives nothing away. */
const SHOWN_CHARS = API_KEY_PREFIX.length + 5;

export const isApiKey = (credential: string): boolean => credential.startsWith(API_KEY_PREFIX);

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** 256 random bits, base64url: high entropy, which is why a plain SHA-256 at rest suffices. */
export function generateApiKey(): { key: string; sha256: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, sha256: hashApiKey(key), prefix: key.slice(0, SHOWN_CHARS) };
}

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  tenantId: string | null;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  key_prefix: string;
  role: Role;
  tenant_id: string | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toView = (row: ApiKeyRow): ApiKeyView => ({
  id: row.id, name: row.name, prefix: row.key_prefix, role: row.role, tenantId: row.tenant_id,
  createdBy: row.created_by, createdAt: row.created_at.toISOString(), revokedAt: row.revoked_at?.toISOString() ?? null,
});

/** API keys in the catalog: created by the CLI, checked by the guard, revoked by the CLI. */
export class ApiKeysRepository {
  constructor(private readonly pool: Pool) {}

  /** The key itself is returned here and nowhere else: the catalog keeps its hash only. */
  async create(input: { name: string; role: Role; tenantId?: string; createdBy: string }): Promise<{ key: string; view: ApiKeyView }> {
    if ((input.role === 'tenant-admin') !== (input.tenantId !== undefined)) {
      throw new DomainError('bad_input', 'tenant_required', 'a tenant-admin key needs --tenant, and only a tenant-admin key takes one');
    }
    const { key, sha256, prefix } = generateApiKey();
    const { rows } = await this.pool.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, name, key_prefix, key_sha256, role, tenant_id, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [randomUUID(), input.name, prefix, sha256, input.role, input.tenantId ?? null, input.createdBy]);
    return { key, view: toView(rows[0]) };
  }

  /** The principal a key stands for, or undefined for an unknown, malformed or revoked key. */
  async principalFor(key: string): Promise<Principal | undefined> {
    if (!API_KEY_FORMAT.test(key)) return undefined;
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL', [hashApiKey(key)]);
    const row = rows[0];
    if (!row) return undefined;
    return { subject: `api-key:${row.id}`, role: row.role, ...(row.tenant_id ? { tenantId: row.tenant_id } : {}) };
  }

  async list(): Promise<ApiKeyView[]> {
    const { rows } = await this.pool.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map(toView);
  }

  /** True when a live key was revoked; revoking twice changes nothing. */
  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    return (rowCount ?? 0) > 0;
  }
}
