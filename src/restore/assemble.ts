import { ArchivedTransaction, Relation } from './wal.types';
import { decodePgoutput } from './pgoutput';
import { ddlMarkerOf, DDL_MARKER_PREFIX, relationChangeMarker, SchemaChangeMarker } from './schema-change';

/** The prefix of the logical messages the archiver emits as drain markers and heartbeats. */
export const MARKER_PREFIX = 'compliance-ops.archive';

/** Replay met a table whose archived shape is not the live one. */
export class SchemaChangeError extends Error {
  constructor(readonly relation: string, readonly before: string[], readonly after: string[]) {
    super(
      `table ${relation} changed shape (columns [${before.join(', ')}] became [${after.join(', ')}]); ` +
        'the archive cannot replay across a schema change: restore to a point before it, or take a new snapshot after it',
    );
    this.name = 'SchemaChangeError';
  }
}

export interface Assembled {
  transactions: ArchivedTransaction[];
  /** every relation seen, by oid: the shape each change was decoded with */
  relations: Map<number, Relation>;
  /** schema changes seen: DDL markers of the event trigger, and relations whose columns changed */
  schemaChanges: SchemaChangeMarker[];
  /**
   * false when the batch was cut before a transaction that uses a relation in
   * a new shape: a segment embeds one shape per relation, so that transaction
   * starts the next batch (where its shape is the one every change uses).
   */
  complete: boolean;
}

const shapeOf = (r: Relation) => r.columns.map((c) => `${c.name}:${c.typeOid}`).join(',');

/**
 * Folds decoded pgoutput messages (in WAL order, whole transactions only, as
 * the SQL decoding functions return them) into committed transactions.
 * `known` holds relation shapes seen in earlier drains. A relation whose
 * columns changed is recorded as a schema change, never applied silently:
 * restores across it are refused (see replay-range.ts).
 */
export function assembleTransactions(messages: Buffer[], known: Map<number, Relation> = new Map()): Assembled {
  const relations = new Map(known);
  const transactions: ArchivedTransaction[] = [];
  const schemaChanges: SchemaChangeMarker[] = [];
  let open: { tx: ArchivedTransaction; markers: SchemaChangeMarker[] } | null = null;
  for (const data of messages) {
    const msg = decodePgoutput(data);
    switch (msg.tag) {
      case 'begin':
        open = { tx: { xid: msg.xid, commitLsn: msg.finalLsn, endLsn: '', commitMicros: msg.commitMicros, changes: [] }, markers: [] };
        break;
      case 'commit':
        if (!open) throw new Error('pgoutput: COMMIT without BEGIN');
        open.tx.endLsn = msg.endLsn;
        transactions.push(open.tx);
        // Markers learn their transaction's end only now.
        for (const marker of open.markers) schemaChanges.push({ ...marker, endLsn: msg.endLsn });
        open = null;
        break;
      case 'relation': {
        const previous = relations.get(msg.relation.oid);
        if (previous && open && shapeOf(previous) !== shapeOf(msg.relation)) {
          // Earlier transactions of this batch used the old shape: archive them first.
          if (transactions.length > 0) return { transactions, relations, schemaChanges, complete: false };
          open.markers.push(relationChangeMarker(open.tx, previous, msg.relation));
        }
        relations.set(msg.relation.oid, msg.relation);
        break;
      }
      case 'change':
        if (!open) throw new Error('pgoutput: change outside a transaction');
        open.tx.changes.push(msg.change);
        break;
      case 'message':
        if (msg.prefix === DDL_MARKER_PREFIX && msg.transactional && open) open.markers.push(ddlMarkerOf(open.tx, msg.lsn, msg.content));
        break;
      case 'ignored':
        break;
    }
  }
  if (open) throw new Error('pgoutput: the decoded batch ends inside a transaction');
  return { transactions, relations, schemaChanges, complete: true };
}
