import { describe, expect, it } from 'vitest';
import { IndexedSegment, planRuns, RunLimits } from '../../src/restore/compaction-plan';
import { groupMergeable, mergeSegments, UnmergeableSegmentsError } from '../../src/restore/segment-merge';
import { mergedSegmentKey, segmentKey } from '../../src/restore/segment-store';
import { ArchivedTransaction, Relation, Segment } from '../../src/restore/wal.types';

const users: Relation = {
  oid: 100, schema: 'public', name: 'users', replicaIdentity: 'd',
  columns: [{ name: 'tenant_id', typeOid: 2950, key: true }, { name: 'id', typeOid: 20, key: true }, { name: 'email', typeOid: 25, key: false }],
};
const usersWithNickname: Relation = { ...users, columns: [...users.columns, { name: 'nickname', typeOid: 25, key: false }] };
const events: Relation = {
  oid: 200, schema: 'public', name: 'audit_events', replicaIdentity: 'd',
  columns: [{ name: 'tenant_id', typeOid: 2950, key: true }, { name: 'id', typeOid: 20, key: true }],
};

/** A transaction committing at 0/<commit> (hex), ending 0x20 later, with one insert per relation oid given. */
function tx(commit: number, rels: number[] = [100]): ArchivedTransaction {
  const lsn = (n: number) => `0/${n.toString(16).toUpperCase()}`;
  return { xid: commit, commitLsn: lsn(commit), endLsn: lsn(commit + 0x20), commitMicros: String(1_700_000_000_000_000 + commit), changes: rels.map((rel) => ({ op: 'insert' as const, rel, new: ['t', String(commit)] })) };
}

const segment = (transactions: ArchivedTransaction[], relations: Relation[] = [users], tenantId = 't'): Segment => ({ version: 1, tenantId, relations, transactions });

describe('mergeSegments', () => {
  it('holds every transaction of its inputs once, by commit LSN, in commit order', () => {
    // A drain repeated after a crash archived 0x200 and 0x300 again, in a segment that also holds 0x400.
    const first = segment([tx(0x100), tx(0x200), tx(0x300)]);
    const repeated = segment([tx(0x200), tx(0x300), tx(0x400)]);
    const later = segment([tx(0x600), tx(0x500)]);
    const merged = mergeSegments([first, repeated, later]);
    expect(merged.transactions.map((t) => t.commitLsn)).toEqual(['0/100', '0/200', '0/300', '0/400', '0/500', '0/600']);
    expect(merged).toMatchObject({ version: 1, tenantId: 't' });
  });

  it('keeps the first copy of a repeated transaction, as the archive reader does', () => {
    const a = tx(0x100);
    const b = { ...tx(0x100), changes: [] };
    expect(mergeSegments([segment([a]), segment([b])]).transactions[0]).toBe(a);
  });

  it('sorts commit LSNs as numbers, not as text', () => {
    const merged = mergeSegments([segment([{ ...tx(0x10), commitLsn: '1/0' }]), segment([{ ...tx(0x20), commitLsn: '0/FFFFFFF0' }])]);
    expect(merged.transactions.map((t) => t.commitLsn)).toEqual(['0/FFFFFFF0', '1/0']);
  });

  it('carries the union of the relations its transactions use, and no other', () => {
    const truncate: ArchivedTransaction = { ...tx(0x300, []), changes: [{ op: 'truncate', rels: [200], cascade: false }] };
    const unused: Relation = { ...events, oid: 300, name: 'unused' };
    const merged = mergeSegments([segment([tx(0x100)], [users, unused]), segment([truncate], [events])]);
    expect(merged.relations).toEqual([users, events]);
  });

  it('refuses inputs that carry two shapes of one relation, or two tenants', () => {
    expect(() => mergeSegments([segment([tx(0x100)], [users]), segment([tx(0x200)], [usersWithNickname])])).toThrow(UnmergeableSegmentsError);
    expect(() => mergeSegments([segment([tx(0x100)], [users], 'a'), segment([tx(0x200)], [users], 'b')])).toThrow(/tenants a and b/);
    expect(() => mergeSegments([])).toThrow(UnmergeableSegmentsError);
  });
});

describe('groupMergeable', () => {
  it('starts a new group where a relation changes shape (a schema change), and only there', () => {
    const before = [segment([tx(0x100)]), segment([tx(0x200)], [users, events])];
    const after = [segment([tx(0x300)], [usersWithNickname]), segment([tx(0x400)], [events]), segment([tx(0x500)], [usersWithNickname])];
    expect(groupMergeable([...before, ...after], { maxJsonBytes: 1e9 })).toEqual([before, after]);
  });

  it('treats a renamed relation or a changed key flag as another shape', () => {
    const renamed = { ...users, name: 'people' };
    const rekeyed = { ...users, columns: users.columns.map((c) => ({ ...c, key: c.name === 'email' })) };
    expect(groupMergeable([segment([tx(0x100)]), segment([tx(0x200)], [renamed])], { maxJsonBytes: 1e9 })).toHaveLength(2);
    expect(groupMergeable([segment([tx(0x100)]), segment([tx(0x200)], [rekeyed])], { maxJsonBytes: 1e9 })).toHaveLength(2);
  });

  it('keeps each group under the size limit; a segment over it alone is a group of one', () => {
    const segments = [0x100, 0x200, 0x300, 0x400].map((n) => segment([tx(n)]));
    const largest = Math.max(...segments.map((s) => Buffer.byteLength(JSON.stringify(s.transactions))));
    expect(groupMergeable(segments, { maxJsonBytes: largest * 2 + 1 }).map((g) => g.length)).toEqual([2, 2]);
    expect(groupMergeable(segments, { maxJsonBytes: 1 }).map((g) => g.length)).toEqual([1, 1, 1, 1]);
  });
});

describe('planRuns', () => {
  const limits: RunLimits = { maxChanges: 100, maxSpanMicros: 3_600_000_000n };
  let next = 0;
  const row = (over: Partial<IndexedSegment> = {}): IndexedSegment => {
    next += 1;
    return {
      id: String(next), slotName: 's', bucket: 'b', objectKey: `k${next}`, firstLsn: `0/${next}00`, lastLsn: `0/${next}20`,
      firstCommitMicros: BigInt(next) * 1_000_000n, lastCommitMicros: BigInt(next) * 1_000_000n + 10n,
      transactionCount: 1, changeCount: 10, settled: true, gapBefore: false, ...over,
    };
  };
  const ids = (runs: IndexedSegment[][]) => runs.map((r) => r.map((s) => s.id));

  it('merges consecutive settled segments of one slot', () => {
    const rows = [row(), row(), row()];
    expect(ids(planRuns(rows, limits))).toEqual([rows.map((r) => r.id)]);
  });

  it('never reaches across a recorded gap, a change of slot or an unsettled segment, and leaves single segments alone', () => {
    const rows = [row(), row(), row({ gapBefore: true }), row(), row({ slotName: 'other' }), row({ slotName: 'other' }), row({ settled: false }), row({ slotName: 'other' })];
    expect(ids(planRuns(rows, limits))).toEqual([[rows[0].id, rows[1].id], [rows[2].id, rows[3].id], [rows[4].id, rows[5].id]]);
  });

  it('closes a run at the change limit and at the time span limit', () => {
    const big = [row({ changeCount: 60 }), row({ changeCount: 40 }), row({ changeCount: 1 }), row({ changeCount: 100 }), row()];
    expect(ids(planRuns(big, limits))).toEqual([[big[0].id, big[1].id]]);
    const hourly = [0n, 1_800n, 3_600n, 3_601n, 7_300n].map((s) => row({ firstCommitMicros: s * 1_000_000n, lastCommitMicros: s * 1_000_000n }));
    expect(ids(planRuns(hourly, limits))).toEqual([[hourly[0].id, hourly[1].id, hourly[2].id]]);
  });
});

describe('mergedSegmentKey', () => {
  it('is the same for the same inputs, another for other inputs, and never a drained segment\'s key', () => {
    const merged = mergeSegments([segment([tx(0x100)]), segment([tx(0x200)])]);
    const key = mergedSegmentKey(merged, ['x', 'y']);
    expect(mergedSegmentKey(merged, ['y', 'x'])).toBe(key);
    expect(mergedSegmentKey(merged, ['x', 'z'])).not.toBe(key);
    expect(key).not.toBe(segmentKey(merged));
    expect(key).toMatch(/^tenants\/t\/wal\/0{13}100-0{13}220\.[0-9a-f]{16}\.seg$/);
  });
});
