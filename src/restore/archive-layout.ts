/**
 * Where the restore archive lives in the exports bucket. Each kind of object
 * has its own folder under the tenant's prefix, so a bucket lifecycle rule
 * or a shredding step aimed at one kind (`exports/`) never touches another:
 *
 *   tenants/<tenant>/exports/<request>/      exports (src/export/layout.ts)
 *   tenants/<tenant>/snapshots/<snapshot>/   tenant snapshots: an export's files, written here instead
 *   tenants/<tenant>/wal/<first>-<last>.seg  WAL segments (src/restore/segment-store.ts)
 *   tenants/<tenant>/wal/<first>-<last>.<digest>.seg  merged by compaction (src/restore/segment-compaction.ts)
 *
 * Tenant ids are URI-encoded, as in the export layout, so no id can name a
 * path outside its own prefix.
 */
const tenantPrefix = (tenantId: string) => `tenants/${encodeURIComponent(tenantId)}/`;

/** Every snapshot of one tenant: what erasure of the tenant shreds. */
export function snapshotsPrefixOfTenant(tenantId: string): string {
  return `${tenantPrefix(tenantId)}snapshots/`;
}

/** One snapshot's objects (the same files an export writes: manifest, signature, schema, table chunks). */
export function snapshotPrefix(tenantId: string, snapshotId: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(snapshotId)) throw new Error(`snapshot id ${JSON.stringify(snapshotId)} is not a UUID-like id`);
  return `${snapshotsPrefixOfTenant(tenantId)}${snapshotId}/`;
}

/** Every WAL segment of one tenant (or of `*`, the table-wide changes). */
export function walPrefixOfTenant(tenantId: string): string {
  return `${tenantPrefix(tenantId)}wal/`;
}
