import { ArchivedTransaction, Relation } from './wal.types';

/**
 * The prefix of the transactional logical messages the DDL event trigger
 * emits (sql/queries/archiver/install-ddl-markers.sql). PG15 does not decode
 * DDL; this message travels in the DDL's own transaction, so it lands in the
 * WAL exactly where the table changed shape.
 */
export const DDL_MARKER_PREFIX = 'compliance-ops.ddl';

/**
 * A schema change of an archived table, placed in the WAL: the archive
 * records it (`wal_schema_changes`) and a restore whose replay would cross it
 * for a table it restores is refused.
 */
export interface SchemaChangeMarker {
  /** the logical message's LSN, or the Begin of the first transaction that used the new shape */
  lsn: string;
  /** the transaction that carried it: xid, start and end of its commit record, commit time (µs since the Unix epoch) */
  xid: number;
  commitLsn: string;
  endLsn: string;
  commitMicros: string;
  schema: string;
  table: string;
  /** `ALTER TABLE`, `DROP TABLE`…, or `relation changed` when the columns changed without a DDL marker */
  command: string;
  /** pg_event_trigger_ddl_commands().object_identity, e.g. `public.users` or `public.users.email` */
  identity: string;
  /** the DDL statement (truncated), or the columns before and after */
  statement: string | null;
  source: 'event-trigger' | 'relation';
}

/** The JSON the event trigger writes: what the function's json_build_object names. */
interface DdlMarkerContent {
  command: string;
  objectType: string;
  identity: string;
  schema: string;
  table: string;
  statement: string | null;
}

/** Schema and table of a marker that cannot say which table changed: it stops restores of every table. */
export const ANY_TABLE = '*';

type Placed = Pick<ArchivedTransaction, 'xid' | 'commitLsn' | 'commitMicros'>;

export function ddlMarkerOf(tx: Placed, lsn: string, content: Buffer): SchemaChangeMarker {
  const body = parseMarker(content.toString('utf8'));
  return {
    lsn, xid: tx.xid, commitLsn: tx.commitLsn, endLsn: '', commitMicros: tx.commitMicros,
    schema: body.schema, table: body.table, command: body.command, identity: body.identity, statement: body.statement, source: 'event-trigger',
  };
}

/** A relation that arrived with other columns than before: a DDL the event trigger did not report (or reported earlier). */
export function relationChangeMarker(tx: Placed, before: Relation, after: Relation): SchemaChangeMarker {
  const columns = (r: Relation) => r.columns.map((c) => c.name).join(', ');
  return {
    lsn: tx.commitLsn, xid: tx.xid, commitLsn: tx.commitLsn, endLsn: '', commitMicros: tx.commitMicros,
    schema: after.schema, table: after.name, command: 'relation changed', identity: `${after.schema}.${after.name}`,
    statement: `columns [${columns(before)}] became [${columns(after)}]`, source: 'relation',
  };
}

/** A marker that does not parse is still a schema change: kept with its raw text rather than dropped. */
function parseMarker(text: string): DdlMarkerContent {
  try {
    const body = JSON.parse(text) as Partial<DdlMarkerContent>;
    if (typeof body.schema === 'string' && typeof body.table === 'string' && typeof body.command === 'string') {
      return { command: body.command, objectType: body.objectType ?? 'table', identity: body.identity ?? `${body.schema}.${body.table}`, schema: body.schema, table: body.table, statement: body.statement ?? null };
    }
  } catch {
    // fall through
  }
  return { command: 'unknown DDL', objectType: 'unknown', identity: 'unknown', schema: ANY_TABLE, table: ANY_TABLE, statement: text.slice(0, 2000) };
}
