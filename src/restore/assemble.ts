import { ArchivedTransaction, Relation } from './wal.types';
import { decodePgoutput } from './pgoutput';

/** The prefix of the logical messages the archiver emits as drain markers and heartbeats. */
export const MARKER_PREFIX = 'compliance-ops.archive';

export class SchemaChangeError extends Error {
  constructor(readonly relation: string, readonly before: string[], readonly after: string[]) {
    super(
      `table ${relation} changed shape in the WAL (columns [${before.join(', ')}] became [${after.join(', ')}]); ` +
        'the archive cannot follow schema changes: take a new snapshot of every tenant after the migration, then restart the archiver',
    );
    this.name = 'SchemaChangeError';
  }
}

export interface Assembled {
  transactions: ArchivedTransaction[];
  /** every relation seen, by oid: the shape each change was decoded with */
  relations: Map<number, Relation>;
}

/**
 * Folds decoded pgoutput messages (in WAL order, whole transactions only, as
 * the SQL decoding functions return them) into committed transactions.
 * `known` holds relation shapes seen in earlier drains: a relation whose
 * columns differ is a schema change the archive cannot follow, and stops it.
 */
export function assembleTransactions(messages: Buffer[], known: Map<number, Relation> = new Map()): Assembled {
  const relations = new Map(known);
  const transactions: ArchivedTransaction[] = [];
  let open: ArchivedTransaction | null = null;
  for (const data of messages) {
    const msg = decodePgoutput(data);
    switch (msg.tag) {
      case 'begin':
        open = { xid: msg.xid, commitLsn: msg.finalLsn, endLsn: '', commitMicros: msg.commitMicros, changes: [] };
        break;
      case 'commit':
        if (!open) throw new Error('pgoutput: COMMIT without BEGIN');
        open.endLsn = msg.endLsn;
        transactions.push(open);
        open = null;
        break;
      case 'relation': {
        const previous = relations.get(msg.relation.oid);
        const names = (r: Relation) => r.columns.map((c) => `${c.name}:${c.typeOid}`);
        if (previous && names(previous).join() !== names(msg.relation).join()) {
          throw new SchemaChangeError(`${msg.relation.schema}.${msg.relation.name}`, names(previous), names(msg.relation));
        }
        relations.set(msg.relation.oid, msg.relation);
        break;
      }
      case 'change':
        if (!open) throw new Error('pgoutput: change outside a transaction');
        open.changes.push(msg.change);
        break;
      case 'message':
        if (msg.prefix.startsWith(`${MARKER_PREFIX}.ddl`)) {
          throw new SchemaChangeError(msg.content.toString('utf8'), [], []);
        }
        break;
      case 'ignored':
        break;
    }
  }
  if (open) throw new Error('pgoutput: the decoded batch ends inside a transaction');
  return { transactions, relations };
}
