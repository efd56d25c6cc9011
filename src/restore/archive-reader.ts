import { KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { parseLsn } from './lsn';
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
const SCAN_MARGIN = '5 minutes';

/**
 * The tenant's archived transactions (and the table-wide ones) that may
 * follow a snapshot, in commit order, each once: a drain repeated after a
 * crash can have archived a transaction twice, recognisable by its commit LSN.
 * Within one transaction, table-wide changes (TRUNCATE) come first: the
 * usual pattern is truncate-then-reload.
 */
export async function readTenantTransactions(
  deps: { catalogPool: Pool; s3: S3Client; keyring: KeyringNode },
  tenantId: string,
  snapshot: { lsn: string; takenAt: string },
): Promise<ReplayTransaction[]> {
  const { rows } = await deps.catalogPool.query<{ tenant_id: string; bucket: string; object_key: string }>(
    `SELECT tenant_id, bucket, object_key FROM wal_segments
     WHERE tenant_id = ANY($1) AND (last_lsn >= $2::pg_lsn OR last_commit_at >= $3::timestamptz - $4::interval)
     ORDER BY first_lsn, id`,
    [[tenantId, ALL_TENANTS], snapshot.lsn, snapshot.takenAt, SCAN_MARGIN],
  );
  const seen = new Set<string>();
  const out: Array<ReplayTransaction & { wide: boolean }> = [];
  for (const row of rows) {
    const segment = await getSegment({ s3: deps.s3, bucket: row.bucket, keyring: deps.keyring }, row.object_key, row.tenant_id);
    const relations = new Map(segment.relations.map((r) => [r.oid, r]));
    for (const tx of segment.transactions) {
      const id = `${row.tenant_id}@${tx.commitLsn}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ tx, relations, wide: row.tenant_id === ALL_TENANTS });
    }
  }
  out.sort((a, b) => {
    const d = parseLsn(a.tx.commitLsn) - parseLsn(b.tx.commitLsn);
    return d !== 0n ? (d < 0n ? -1 : 1) : Number(b.wide) - Number(a.wide);
  });
  return out;
}
