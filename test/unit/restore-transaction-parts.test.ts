import { describe, expect, it } from 'vitest';
import { IncompleteTransactionError, joinParts, recordKey } from '../../src/restore/transaction-parts';
import { ArchivedTransaction, Change } from '../../src/restore/wal.types';

const change = (n: number): Change => ({ op: 'insert', rel: 1, new: [String(n)] });
const record = (commitLsn: string, changes: number[], part?: { index: number; final: boolean }): ArchivedTransaction => ({
  xid: 7, commitLsn, endLsn: part && !part.final ? '' : `${commitLsn}8`, commitMicros: '1', changes: changes.map(change), ...(part ? { part } : {}),
});
const everything = () => true;

describe('large transactions archived in parts', () => {
  it('joins the parts of a transaction, in order, under the final part\'s end', () => {
    const joined = joinParts([
      record('0/10', [1]),
      record('0/20', [2, 3], { index: 0, final: false }),
      record('0/20', [4], { index: 1, final: false }),
      record('0/20', [], { index: 2, final: true }),
      record('0/30', [5]),
    ], everything);
    expect(joined.map((t) => [t.commitLsn, t.endLsn, t.changes.length, 'part' in t])).toEqual([
      ['0/10', '0/108', 1, false], ['0/20', '0/208', 3, false], ['0/30', '0/308', 1, false],
    ]);
    expect(joined[1].changes).toEqual([change(2), change(3), change(4)]);
  });

  it('leaves out a transaction still being archived (past the high-water mark), and refuses one that should be whole', () => {
    const inFlight = [record('0/10', [1]), record('0/20', [2], { index: 0, final: false })];
    expect(joinParts(inFlight, (lsn) => lsn === '0/10').map((t) => t.commitLsn)).toEqual(['0/10']);
    expect(() => joinParts(inFlight, everything)).toThrow(IncompleteTransactionError);
    const missingMiddle = [record('0/20', [1], { index: 0, final: false }), record('0/20', [2], { index: 2, final: true })];
    expect(() => joinParts(missingMiddle, everything)).toThrow(/parts 0, 2 of 3/);
  });

  it('tells parts apart from each other and from whole transactions', () => {
    expect(new Set([record('0/20', [1]), record('0/20', [1], { index: 0, final: false }), record('0/20', [1], { index: 1, final: true })].map(recordKey)).size).toBe(3);
  });
});
