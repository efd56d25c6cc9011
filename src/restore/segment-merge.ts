import { parseLsn } from './lsn';
import { ArchivedTransaction, Relation, Segment } from './wal.types';
import { recordKey } from './transaction-parts';

/**
 * Pure rules of segment compaction (src/restore/segment-compaction.ts): which
 * consecutive segments one merged segment may replace, and what it holds.
 */

/** A merged segment's inputs disagree on something one segment can only say once. */
export class UnmergeableSegmentsError extends Error {
  constructor(why: string) {
    super(`segments cannot be merged: ${why}`);
    this.name = 'UnmergeableSegmentsError';
  }
}

/**
 * Every field of a relation replay reads (names, replica identity, and each
 * column's name, type and key flag), in a fixed order. Stricter than the
 * archiver's own shape test (column names and types): a segment carries one
 * relation per oid, so anything that differs must stay in separate segments.
 */
const shapeKey = (r: Relation) => JSON.stringify([r.oid, r.schema, r.name, r.replicaIdentity, r.columns.map((c) => [c.name, c.typeOid, c.key])]);

export function sameRelation(a: Relation, b: Relation): boolean {
  return shapeKey(a) === shapeKey(b);
}

/** The first relation of `segment` whose shape differs from the one `known` holds for its oid, if any. */
export function shapeConflict(known: Map<number, Relation>, segment: Segment): Relation | null {
  return segment.relations.find((r) => known.has(r.oid) && !sameRelation(known.get(r.oid)!, r)) ?? null;
}

/** The size a segment's transactions take as JSON: what bounds a merged segment's size before gzip. */
export function transactionBytes(segment: Segment): number {
  return Buffer.byteLength(JSON.stringify(segment.transactions));
}

/**
 * Cuts segments (one tenant's, in LSN order) into consecutive groups that one
 * merged segment each may replace: within a group every relation oid has one
 * shape (a schema change starts a new group: schema changes are detected
 * from relation shapes, and replay must decode each change with the shape it
 * was written in), and the group's transactions stay under `maxJsonBytes` of
 * JSON. A group of one needs no merge.
 */
export function groupMergeable(segments: Segment[], limits: { maxJsonBytes: number }): Segment[][] {
  const groups: Segment[][] = [];
  let current: Segment[] = [];
  let shapes = new Map<number, Relation>();
  let bytes = 0;
  for (const segment of segments) {
    const size = transactionBytes(segment);
    if (current.length > 0 && (shapeConflict(shapes, segment) || bytes + size > limits.maxJsonBytes)) {
      groups.push(current);
      current = [];
      shapes = new Map();
      bytes = 0;
    }
    current.push(segment);
    for (const r of segment.relations) shapes.set(r.oid, r);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * The one segment that replaces `segments` (one tenant's, in LSN order):
 * exactly the union of their transactions, each once by commit LSN and part (a drain
 * repeated after a crash archives a transaction twice; the first copy in
 * input order is kept, as the archive reader keeps it), in commit order, with
 * the relations those transactions use. Throws when the inputs belong to
 * different tenants or carry a relation in two shapes (groupMergeable cuts
 * there first).
 */
export function mergeSegments(segments: Segment[]): Segment {
  if (segments.length === 0) throw new UnmergeableSegmentsError('there are no segments to merge');
  const tenantId = segments[0].tenantId;
  const relations = new Map<number, Relation>();
  const byCommit = new Map<string, ArchivedTransaction>();
  for (const segment of segments) {
    if (segment.version !== 1) throw new UnmergeableSegmentsError(`a segment has version ${String(segment.version)}, not 1`);
    if (segment.tenantId !== tenantId) throw new UnmergeableSegmentsError(`they belong to tenants ${tenantId} and ${segment.tenantId}`);
    const conflict = shapeConflict(relations, segment);
    if (conflict) throw new UnmergeableSegmentsError(`relation ${conflict.schema}.${conflict.name} (oid ${conflict.oid}) has two shapes`);
    for (const r of segment.relations) relations.set(r.oid, r);
    for (const tx of segment.transactions) if (!byCommit.has(recordKey(tx))) byCommit.set(recordKey(tx), tx);
  }
  // Parts of a large transaction stay parts (the reader joins them), in order.
  const transactions = [...byCommit.values()].sort((a, b) => {
    const d = parseLsn(a.commitLsn) - parseLsn(b.commitLsn);
    return d < 0n ? -1 : d > 0n ? 1 : (a.part?.index ?? 0) - (b.part?.index ?? 0);
  });
  if (transactions.length === 0) throw new UnmergeableSegmentsError('they hold no transaction');
  const used = new Set(transactions.flatMap((tx) => tx.changes.flatMap((c) => (c.op === 'truncate' ? c.rels : [c.rel]))));
  return { version: 1, tenantId, relations: [...relations.values()].filter((r) => used.has(r.oid)), transactions };
}
