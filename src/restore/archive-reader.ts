import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { runBounded } from '../export/run-bounded';
import { parseLsn } from './lsn';
import { RestoreTarget } from './restore-target';
import { getSegment } from './segment-store';
import { joinParts, recordKey } from './transaction-parts';
import { ALL_TENANTS, ArchivedTransaction, Relation } from './wal.types';

export interface ReplayTransaction {
  tx: ArchivedTransaction;
  relations: Map<number, Relation>;
}

/**
 * How far before a snapshot's LSN replay starts reading: a transaction can
 * write its commit record before a snapshot is taken and still be in progress
 * for it (commit record first, then the proc array). The xid rule decides
 * exactly what applies, so reading more than needed is harmless.
 */
export const SCAN_MARGIN = '5 minutes';

/** Segments fetched and decrypted at once: each is an S3 GET and a KMS Decrypt, so latency, not CPU, bounds a serial read. */
const PARALLEL_SEGMENTS = 8;

/**
 * The tenant's archived transactions (and the table-wide ones) that may
 * follow a snapshot, in commit order, each once: a drain repeated after a
 * crash can have archived a transaction twice, recognisable by its commit LSN.
 * A large transaction archived in parts comes back whole (transaction-parts.ts).
 * Within one transaction, table-wide changes (TRUNCATE) come first: the
 * usual pattern is truncate-then-reload.
 *
 * With `until`, segments that hold only transactions past the target are
 * not read. For an LSN target, those starting at or after it. For a time
 * target (a prefix in commit order up to the first commit after it: commit
 * times are not monotonic in WAL order), those starting after the end of a
 * segment that holds a commit after the target, since everything in them
 * follows that commit; unless they start before the snapshot's LSN, where a
 * transaction the snapshot contains can be, which the caller must see.
 */
export async function readTenantTransactions(
  deps: { catalogPool: Pool; s3: S3Client; keyring: KeyringNode },
  tenantId: string,
  snapshot: { lsn: string; takenAt: string },
  until?: RestoreTarget,
): Promise<ReplayTransaction[]> {
  const { rows } = await deps.catalogPool.query<{ tenant_id: string; bucket: string; object_key: string }>(
    `WITH after_snapshot AS (
       SELECT id, tenant_id, bucket, object_key, first_lsn, last_lsn, last_commit_at FROM wal_segments
       WHERE tenant_id = ANY($1) AND (last_lsn >= $2::pg_lsn OR last_commit_at >= $3::timestamptz - $4::interval)
     ), past_time_target AS (
       SELECT min(last_lsn) AS lsn FROM after_snapshot WHERE last_commit_at > $6::timestamptz
     )
     SELECT tenant_id, bucket, object_key FROM after_snapshot, past_time_target
     WHERE ($5::pg_lsn IS NULL OR first_lsn < $5::pg_lsn)
       AND (past_time_target.lsn IS NULL OR first_lsn <= past_time_target.lsn OR first_lsn < $2::pg_lsn)
     ORDER BY first_lsn, id`,
    [[tenantId, ALL_TENANTS], snapshot.lsn, snapshot.takenAt, SCAN_MARGIN,
      until && 'lsn' in until ? until.lsn : null, until && 'time' in until ? until.time : null],
  );
  const segments = await runBounded(
    rows.map((row) => () => getSegment({ s3: deps.s3, bucket: row.bucket, keyring: deps.keyring }, row.object_key, row.tenant_id)),
    PARALLEL_SEGMENTS,
  );
  const { rows: [archive] } = await deps.catalogPool.query<{ lsn: string | null }>('SELECT max(archived_lsn)::text AS lsn FROM wal_archives');
  const archivedLsn = archive.lsn === null ? -1n : parseLsn(archive.lsn);
  // Each record once per tenant (by commit LSN, and part), with the relations of the segments it came from.
  const byTenant = new Map<string, Map<string, { tx: ArchivedTransaction; relations: Map<number, Relation> }>>();
  segments.forEach((segment, i) => {
    const tenant = rows[i].tenant_id;
    const relations = new Map(segment.relations.map((r) => [r.oid, r]));
    const records = byTenant.get(tenant) ?? new Map();
    byTenant.set(tenant, records);
    for (const tx of segment.transactions) if (!records.has(recordKey(tx))) records.set(recordKey(tx), { tx, relations });
  });
  const out: Array<ReplayTransaction & { wide: boolean }> = [];
  for (const [tenant, records] of byTenant) {
    const inOrder = [...records.values()].sort((a, b) => compareLsn(a.tx.commitLsn, b.tx.commitLsn) || (a.tx.part?.index ?? 0) - (b.tx.part?.index ?? 0));
    // The parts of one transaction came from several segments: replay decodes each change with its relation, from any of them.
    const relationsOf = new Map<string, Map<number, Relation>>();
    for (const { tx, relations } of inOrder) relationsOf.set(tx.commitLsn, new Map([...(relationsOf.get(tx.commitLsn) ?? []), ...relations]));
    for (const tx of joinParts(inOrder.map((r) => r.tx), (lsn) => parseLsn(lsn) <= archivedLsn)) {
      out.push({ tx, relations: relationsOf.get(tx.commitLsn)!, wide: tenant === ALL_TENANTS });
    }
  }
  out.sort((a, b) => compareLsn(a.tx.commitLsn, b.tx.commitLsn) || Number(b.wide) - Number(a.wide));
  return out;
}

function compareLsn(a: string, b: string): number {
  const d = parseLsn(a) - parseLsn(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
