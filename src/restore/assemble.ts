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
 * Folds decoded pgoutput messages (in WAL order, whole transactions one
 * after another, as the SQL decoding functions return them: pgoutput without
 * streaming sends a transaction's changes only at its commit) into committed
 * transactions, one message at a time, so a drain can archive what is
 * complete, and split a transaction too large to hold, while it reads.
 * `known` holds relation shapes seen in earlier drains. A relation whose
 * columns changed is recorded as a schema change, never applied silently:
 * restores across it are refused (see replay-range.ts).
 */
export class TransactionAssembler {
  readonly relations: Map<number, Relation>;
  /** committed transactions not yet taken, in commit order */
  completed: ArchivedTransaction[] = [];
  schemaChanges: SchemaChangeMarker[] = [];
  private open: { tx: ArchivedTransaction; markers: SchemaChangeMarker[]; parts: number } | null = null;

  constructor(known: Map<number, Relation> = new Map()) {
    this.relations = new Map(known);
  }

  /**
   * Takes one message. Returns false, having taken nothing, when the message
   * gives a relation a new shape while completed transactions (which used
   * the old one) are waiting: a segment embeds one shape per relation, so
   * the caller archives and takes them first, then pushes the message again.
   */
  push(data: Buffer): boolean {
    const msg = decodePgoutput(data);
    switch (msg.tag) {
      case 'begin':
        this.open = { tx: { xid: msg.xid, commitLsn: msg.finalLsn, endLsn: '', commitMicros: msg.commitMicros, changes: [] }, markers: [], parts: 0 };
        break;
      case 'commit': {
        const open = this.open;
        if (!open) throw new Error('pgoutput: COMMIT without BEGIN');
        open.tx.endLsn = msg.endLsn;
        if (open.parts > 0) open.tx.part = { index: open.parts, final: true };
        this.completed.push(open.tx);
        // Markers learn their transaction's end only now.
        for (const marker of open.markers) this.schemaChanges.push({ ...marker, endLsn: msg.endLsn });
        this.open = null;
        break;
      }
      case 'relation': {
        const previous = this.relations.get(msg.relation.oid);
        if (previous && this.open && shapeOf(previous) !== shapeOf(msg.relation)) {
          if (this.completed.length > 0) return false;
          this.open.markers.push(relationChangeMarker(this.open.tx, previous, msg.relation));
        }
        this.relations.set(msg.relation.oid, msg.relation);
        break;
      }
      case 'change':
        if (!this.open) throw new Error('pgoutput: change outside a transaction');
        this.open.tx.changes.push(msg.change);
        break;
      case 'message':
        if (msg.prefix === DDL_MARKER_PREFIX && msg.transactional && this.open) this.open.markers.push(ddlMarkerOf(this.open.tx, msg.lsn, msg.content));
        break;
      case 'ignored':
        break;
    }
    return true;
  }

  /** Changes buffered for the transaction still being read (0 between transactions). */
  get openChanges(): number {
    return this.open?.tx.changes.length ?? 0;
  }

  /** The completed transactions and the schema changes they carry; both lists start empty again. */
  takeCompleted(): { transactions: ArchivedTransaction[]; schemaChanges: SchemaChangeMarker[] } {
    const taken = { transactions: this.completed, schemaChanges: this.schemaChanges };
    this.completed = [];
    this.schemaChanges = [];
    return taken;
  }

  /** The open transaction's changes so far, as its next (not final) part; the transaction goes on reading with none buffered. */
  takeOpenPart(): ArchivedTransaction {
    const open = this.open;
    if (!open) throw new Error('no transaction is open');
    const part: ArchivedTransaction = { ...open.tx, changes: open.tx.changes, part: { index: open.parts, final: false } };
    open.parts += 1;
    open.tx = { ...open.tx, changes: [] };
    return part;
  }

  /** Whether the last message ended a transaction (a batch may end here). */
  get betweenTransactions(): boolean {
    return this.open === null;
  }
}

/** Every message at once: whole transactions, cut before a relation's change of shape (`complete: false`) if earlier ones used the old shape. */
export function assembleTransactions(messages: Buffer[], known: Map<number, Relation> = new Map()): Assembled {
  const assembler = new TransactionAssembler(known);
  for (const data of messages) {
    if (!assembler.push(data)) return { ...assembler.takeCompleted(), relations: assembler.relations, complete: false };
  }
  if (!assembler.betweenTransactions) throw new Error('pgoutput: the decoded batch ends inside a transaction');
  return { ...assembler.takeCompleted(), relations: assembler.relations, complete: true };
}
