import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { runBounded } from '../export/run-bounded';
import { parseLsn } from './lsn';
import { RestoreTarget } from './restore-target';
import { getSegment } from './segment-store';
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
  const seen = new Set<string>();
  const out: Array<ReplayTransaction & { wide: boolean }> = [];
  segments.forEach((segment, i) => {
    const tenant = rows[i].tenant_id;
    const relations = new Map(segment.relations.map((r) => [r.oid, r]));
    for (const tx of segment.transactions) {
      const id = `${tenant}@${tx.commitLsn}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ tx, relations, wide: tenant === ALL_TENANTS });
    }
  });
  out.sort((a, b) => {
    const d = parseLsn(a.tx.commitLsn) - parseLsn(b.tx.commitLsn);
    return d !== 0n ? (d < 0n ? -1 : 1) : Number(b.wide) - Number(a.wide);
  });
  return out;
}
