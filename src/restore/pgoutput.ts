import { Change, Datum, Relation, Tuple, UNCHANGED } from './wal.types';

/**
 * A decoder of pgoutput protocol version 1 (no streaming, no two-phase: the
 * archive only wants committed transactions), as returned by
 * pg_logical_slot_peek_binary_changes. Written here rather than taken from
 * pg-logical-replication: that package's value parsing turns timestamps into
 * JS Dates and 'u' into undefined, and its acknowledgement logic is the part
 * an archive must not use (research notes §5). The format:
 * https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
 */
export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: string; commitMicros: string; xid: number }
  | { tag: 'commit'; commitLsn: string; endLsn: string; commitMicros: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'change'; change: Change }
  | { tag: 'message'; transactional: boolean; lsn: string; prefix: string; content: Buffer }
  | { tag: 'ignored'; kind: string };

/** Microseconds between the Unix epoch and Postgres's (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

export class UnsupportedWalMessage extends Error {
  constructor(kind: string) {
    super(`pgoutput message '${kind}' is not supported by the archive (streaming and two-phase must stay off)`);
    this.name = 'UnsupportedWalMessage';
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number {
    return this.buf.readUInt8(this.at++);
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  uint32(): number {
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }
  lsn(): string {
    const hi = this.uint32();
    const lo = this.uint32();
    return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
  }
  micros(): string {
    return (this.int64() + PG_EPOCH_MICROS).toString();
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.at);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const kind = String.fromCharCode(r.byte());
  switch (kind) {
    case 'B':
      return { tag: 'begin', finalLsn: r.lsn(), commitMicros: r.micros(), xid: r.uint32() };
    case 'C': {
      r.byte(); // flags, unused
      return { tag: 'commit', commitLsn: r.lsn(), endLsn: r.lsn(), commitMicros: r.micros() };
    }
    case 'R':
      return { tag: 'relation', relation: readRelation(r) };
    case 'I': {
      const rel = r.uint32();
      r.byte(); // 'N'
      return { tag: 'change', change: { op: 'insert', rel, new: readTuple(r) } };
    }
    case 'U': {
      const rel = r.uint32();
      let marker = String.fromCharCode(r.byte());
      let old: Tuple | undefined;
      if (marker === 'K' || marker === 'O') {
        old = readTuple(r);
        marker = String.fromCharCode(r.byte());
      }
      if (marker !== 'N') throw new Error(`pgoutput: UPDATE without a new tuple ('${marker}')`);
      return { tag: 'change', change: { op: 'update', rel, ...(old ? { old } : {}), new: readTuple(r) } };
    }
    case 'D': {
      const rel = r.uint32();
      r.byte(); // 'K' or 'O'
      return { tag: 'change', change: { op: 'delete', rel, old: readTuple(r) } };
    }
    case 'T': {
      const count = r.int32();
      const options = r.byte();
      const rels = Array.from({ length: count }, () => r.uint32());
      return { tag: 'change', change: { op: 'truncate', rels, cascade: (options & 1) !== 0 } };
    }
    case 'M': {
      const transactional = (r.byte() & 1) !== 0;
      const lsn = r.lsn();
      const prefix = r.cstring();
      const content = r.bytes(r.int32());
      return { tag: 'message', transactional, lsn, prefix, content };
    }
    case 'O':
    case 'Y':
      return { tag: 'ignored', kind };
    default:
      throw new UnsupportedWalMessage(kind);
  }
}

function readRelation(r: Reader): Relation {
  const oid = r.uint32();
  const schema = r.cstring();
  const name = r.cstring();
  const replicaIdentity = String.fromCharCode(r.byte());
  const count = r.int16();
  const columns = Array.from({ length: count }, () => {
    const flags = r.byte();
    const colName = r.cstring();
    const typeOid = r.uint32();
    r.int32(); // type modifier
    return { name: colName, typeOid, key: (flags & 1) !== 0 };
  });
  return { oid, schema, name, replicaIdentity, columns };
}

function readTuple(r: Reader): Tuple {
  const count = r.int16();
  const tuple: Datum[] = [];
  for (let i = 0; i < count; i++) {
    const kind = String.fromCharCode(r.byte());
    if (kind === 'n') tuple.push(null);
    else if (kind === 'u') tuple.push(UNCHANGED);
    else if (kind === 't') tuple.push(r.bytes(r.int32()).toString('utf8'));
    else throw new Error(`pgoutput: column kind '${kind}' is not supported (binary mode must stay off)`);
  }
  return tuple;
}
