import { badInput } from '../errors';

/**
 * Where an export's objects live. Everything sits under the tenant's prefix,
 * so a bucket policy can fence tenants and erasure can list and shred a
 * tenant's whole footprint:
 *
 *   tenants/<tenant>/exports/<request>/
 *     tables/<table>.csv.part-00000.gz.esdk   one object per chunk, in order
 *     schema.json.gz.esdk
 *     cursor.json.esdk                        while running: the tables already durable (resume)
 *     manifest.jws                            signature over the manifest digest
 *     manifest.json.esdk                      written last: present = complete
 */
export const MANIFEST_KEY = 'manifest.json.esdk';
export const CURSOR_KEY = 'cursor.json.esdk';
export const SIGNATURE_KEY = 'manifest.jws';
export const SCHEMA_PATH = 'schema.json';

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** Every export of one tenant: what erasure shreds. */
export function exportsPrefixOfTenant(tenantId: string): string {
  return `tenants/${encodeURIComponent(tenantId)}/exports/`;
}

export function exportPrefix(tenantId: string, requestId: string): string {
  if (!REQUEST_ID.test(requestId) || requestId.includes('..')) {
    throw badInput('invalid_request_id', 'Request ids are 1–128 letters, digits, `_`, `-`, `.` or `:`.');
  }
  return `${exportsPrefixOfTenant(tenantId)}${encodeURIComponent(requestId)}/`;
}

/** Chunks sort by name in file order: `tables/users.csv.part-00003.gz.esdk`. */
export function chunkKey(path: string, index: number): string {
  return `${path}.part-${String(index).padStart(5, '0')}.gz.esdk`;
}

/**
 * Paths a manifest may name: `schema.json` or one segment under `tables/`.
 * The decryptor writes files at these paths, so anything else (`..`, absolute
 * paths, separators) is refused before it can escape the output directory.
 */
export function isSafeFilePath(path: string): boolean {
  return path === SCHEMA_PATH || /^tables\/[A-Za-z0-9_.%~!*'()-]+\.(csv|jsonl)$/.test(path) && !path.includes('..');
}

export function isSafeChunkKey(key: string): boolean {
  const match = /^(.+)\.part-\d{5}\.gz\.esdk$/.exec(key);
  return match !== null && isSafeFilePath(match[1]);
}
