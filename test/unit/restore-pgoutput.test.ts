import { describe, expect, it } from 'vitest';
import { assembleTransactions } from '../../src/restore/assemble';
import { DDL_MARKER_PREFIX } from '../../src/restore/schema-change';
import { decodePgoutput, UnsupportedWalMessage } from '../../src/restore/pgoutput';
import { formatLsn, parseLsn } from '../../src/restore/lsn';
import { isVisibleInSnapshot } from '../../src/restore/visibility';

/** Builds pgoutput v1 messages byte by byte, as the server sends them. */
class Msg {
  private parts: Buffer[] = [];
  constructor(tag: string) {
    this.byte(tag.charCodeAt(0));
  }
  byte(v: number) { this.parts.push(Buffer.from([v])); return this; }
  int16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number) { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); this.parts.push(b); return this; }
  int64(v: bigint) { const b = Buffer.alloc(8); b.writeBigInt64BE(v); this.parts.push(b); return this; }
  str(s: string) { this.parts.push(Buffer.from(`${s}\0`)); return this; }
  tuple(values: Array<string | null | 'u'>) {
    this.int16(values.length);
    for (const v of values) {
      if (v === null) this.byte('n'.charCodeAt(0));
      else if (v === 'u') this.byte('u'.charCodeAt(0));
      else { const b = Buffer.from(v); this.byte('t'.charCodeAt(0)).int32(b.length); this.parts.push(b); }
    }
    return this;
  }
  get buf() { return Buffer.concat(this.parts); }
}

const begin = (finalLsn: bigint, xid: number) => new Msg('B').int64(finalLsn).int64(1_000_000n).int32(xid).buf;
const commit = (commitLsn: bigint, endLsn: bigint) => new Msg('C').byte(0).int64(commitLsn).int64(endLsn).int64(1_000_000n).buf;
const relation = (oid: number, cols: Array<[string, number, boolean]>) => {
  const m = new Msg('R').int32(oid).str('public').str('documents').byte('d'.charCodeAt(0)).int16(cols.length);
  for (const [name, type, key] of cols) m.byte(key ? 1 : 0).str(name).int32(type).int32(-1);
  return m.buf;
};
const COLS: Array<[string, number, boolean]> = [['tenant_id', 2950, true], ['id', 20, true], ['body', 25, false]];

describe('pgoutput decoding', () => {
  it('reads begin with the commit time in microseconds since the Unix epoch', () => {
    const msg = decodePgoutput(begin(0x1_0000_0010n, 42));
    // 1 s after 2000-01-01T00:00:00Z
    expect(msg).toEqual({ tag: 'begin', finalLsn: '1/10', commitMicros: '946684801000000', xid: 42 });
  });

  it('keeps an unchanged TOASTed value distinct from NULL in an update', () => {
    const update = new Msg('U').int32(7).byte('N'.charCodeAt(0)).tuple(['t1', '5', 'u']).buf;
    const msg = decodePgoutput(update);
    expect(msg).toEqual({ tag: 'change', change: { op: 'update', rel: 7, new: ['t1', '5', false] } });
    const withNull = decodePgoutput(new Msg('U').int32(7).byte('N'.charCodeAt(0)).tuple(['t1', '5', null]).buf);
    expect(withNull).toMatchObject({ change: { new: ['t1', '5', null] } });
  });

  it('reads the key tuple of a delete and the old key of an update that changed it', () => {
    expect(decodePgoutput(new Msg('D').int32(7).byte('K'.charCodeAt(0)).tuple(['t1', '5', null]).buf))
      .toEqual({ tag: 'change', change: { op: 'delete', rel: 7, old: ['t1', '5', null] } });
    const moved = new Msg('U').int32(7).byte('K'.charCodeAt(0)).tuple(['t1', '5', null]).byte('N'.charCodeAt(0)).tuple(['t1', '6', 'x']).buf;
    expect(decodePgoutput(moved)).toEqual({ tag: 'change', change: { op: 'update', rel: 7, old: ['t1', '5', null], new: ['t1', '6', 'x'] } });
  });

  it('reads truncate with its cascade flag', () => {
    expect(decodePgoutput(new Msg('T').int32(2).byte(1).int32(7).int32(8).buf)).toEqual({ tag: 'change', change: { op: 'truncate', rels: [7, 8], cascade: true } });
  });

  it('reads a transactional logical message (PG15 layout: flags, LSN, prefix, length, content; no xid outside streaming)', () => {
    const content = Buffer.from('{"a":1}');
    const msg = Buffer.concat([new Msg('M').byte(1).int64(0x1_0000_0020n).str('compliance-ops.ddl').int32(content.length).buf, content]);
    expect(decodePgoutput(msg)).toEqual({ tag: 'message', transactional: true, lsn: '1/20', prefix: 'compliance-ops.ddl', content });
  });

  it('refuses streaming messages instead of guessing', () => {
    expect(() => decodePgoutput(new Msg('S').int32(1).byte(1).buf)).toThrow(UnsupportedWalMessage);
  });
});

describe('assembling transactions', () => {
  it('keeps commit LSN (start of the commit record) and end LSN per transaction', () => {
    const insert = new Msg('I').int32(7).byte('N'.charCodeAt(0)).tuple(['t1', '1', 'hello']).buf;
    const { transactions } = assembleTransactions([begin(0x100n, 9), relation(7, COLS), insert, commit(0x100n, 0x130n)]);
    expect(transactions).toEqual([{ xid: 9, commitLsn: '0/100', endLsn: '0/130', commitMicros: '946684801000000', changes: [{ op: 'insert', rel: 7, new: ['t1', '1', 'hello'] }] }]);
  });

  it('records a relation that changed shape as a schema change, and archives it in its new shape', () => {
    const known = assembleTransactions([begin(0x100n, 9), relation(7, COLS), commit(0x100n, 0x130n)]).relations;
    const altered = relation(7, [...COLS, ['extra', 25, false]]);
    const assembled = assembleTransactions([begin(0x200n, 10), altered, commit(0x200n, 0x230n)], known);
    expect(assembled.complete).toBe(true);
    expect(assembled.relations.get(7)!.columns.map((c) => c.name)).toEqual(['tenant_id', 'id', 'body', 'extra']);
    expect(assembled.schemaChanges).toEqual([expect.objectContaining({
      source: 'relation', schema: 'public', table: 'documents', xid: 10, commitLsn: '0/200', endLsn: '0/230',
      statement: 'columns [tenant_id, id, body] became [tenant_id, id, body, extra]',
    })]);
  });

  it('cuts a batch before the first transaction that uses a new shape: a segment holds one shape per table', () => {
    const known = assembleTransactions([begin(0x100n, 9), relation(7, COLS), commit(0x100n, 0x130n)]).relations;
    const insert = new Msg('I').int32(7).byte('N'.charCodeAt(0)).tuple(['t1', '1', 'x']).buf;
    const altered = relation(7, [...COLS, ['extra', 25, false]]);
    const wider = new Msg('I').int32(7).byte('N'.charCodeAt(0)).tuple(['t1', '2', 'y', 'z']).buf;
    const assembled = assembleTransactions([
      begin(0x200n, 10), relation(7, COLS), insert, commit(0x200n, 0x230n),
      begin(0x300n, 11), altered, wider, commit(0x300n, 0x330n),
    ], known);
    expect(assembled.complete).toBe(false);
    expect(assembled.transactions.map((t) => t.xid)).toEqual([10]);
    expect(assembled.relations.get(7)!.columns).toHaveLength(3);
  });

  it('turns a DDL marker message into a schema change placed at its transaction', () => {
    const content = Buffer.from(JSON.stringify({ command: 'ALTER TABLE', objectType: 'table', identity: 'public.users', schema: 'public', table: 'users', statement: 'ALTER TABLE users ADD COLUMN nickname text' }));
    const message = new Msg('M').byte(1).int64(0x180n).str(DDL_MARKER_PREFIX).int32(content.length).buf;
    const assembled = assembleTransactions([begin(0x200n, 12), Buffer.concat([message, content]), commit(0x200n, 0x230n)]);
    expect(assembled.transactions).toHaveLength(1);
    expect(assembled.schemaChanges).toEqual([{
      lsn: '0/180', xid: 12, commitLsn: '0/200', endLsn: '0/230', commitMicros: '946684801000000', schema: 'public', table: 'users',
      command: 'ALTER TABLE', identity: 'public.users', statement: 'ALTER TABLE users ADD COLUMN nickname text', source: 'event-trigger',
    }]);
  });
});

describe('LSNs and snapshot visibility', () => {
  it('round-trips LSNs and orders them numerically', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(parseLsn('0/A0') > parseLsn('0/9F')).toBe(true);
  });

  it('treats xids below xmin as visible, in xip or at/after xmax as not', () => {
    const snap = { xmin: '100', xmax: '110', xip: ['103'] };
    expect(isVisibleInSnapshot(99, snap)).toBe(true);
    expect(isVisibleInSnapshot(102, snap)).toBe(true);
    expect(isVisibleInSnapshot(103, snap)).toBe(false);
    expect(isVisibleInSnapshot(110, snap)).toBe(false);
  });

  it('widens a 32-bit xid with the epoch of the snapshot', () => {
    const epoch1 = (1n << 32n);
    const snap = { xmin: String(epoch1 + 5n), xmax: String(epoch1 + 20n), xip: [] };
    expect(isVisibleInSnapshot(4294967290, snap)).toBe(true); // previous epoch, long committed
    expect(isVisibleInSnapshot(25, snap)).toBe(false);
  });
});
