import { describe, expect, it } from 'vitest';
import { ChangeFolder, FoldedTable, ReplayMismatchError } from '../../src/restore/replay-fold';
import { Change, Relation, Tuple, UNCHANGED } from '../../src/restore/wal.types';

/** documents(tenant_id uuid, id bigint, title text, body text): key (tenant_id, id), body TOASTable. */
const DOCS: Relation = {
  oid: 1, schema: 'public', name: 'documents', replicaIdentity: 'd',
  columns: [{ name: 'tenant_id', typeOid: 2950, key: true }, { name: 'id', typeOid: 20, key: true }, { name: 'title', typeOid: 25, key: false }, { name: 'body', typeOid: 25, key: false }],
};
const PK = ['tenant_id', 'id'];
const T = '6f1c0b8e-0000-4000-8000-000000000001';

const row = (id: number, title: string, body: string | typeof UNCHANGED = `body ${id}`): Tuple => [T, String(id), title, body];
const insert = (r: Tuple): Change => ({ op: 'insert', rel: 1, new: r });
const update = (r: Tuple, old?: Tuple): Change => ({ op: 'update', rel: 1, new: r, ...(old ? { old } : {}) });
const del = (id: number): Change => ({ op: 'delete', rel: 1, old: [T, String(id), null, null] });

type Table = Map<string, Tuple>;
const keyOf = (t: Tuple) => `${t[0]}|${t[1]}`;

/** Row-at-a-time replay, as StagingApplier.apply does it against a table with only a primary key. */
function replayRowAtATime(start: Table, changes: Change[]): Table {
  const table = new Map(start);
  for (const c of changes) {
    if (c.op === 'truncate') throw new Error('not modelled');
    if (c.op === 'insert') {
      if (table.has(keyOf(c.new))) throw new ReplayMismatchError('duplicate key');
      table.set(keyOf(c.new), [...c.new]);
    } else if (c.op === 'update') {
      const before = table.get(keyOf(c.old ?? c.new));
      if (!before) throw new ReplayMismatchError('update matched 0 rows');
      table.set(keyOf(c.new), before.map((v, i) => (c.new[i] === UNCHANGED ? v : c.new[i])));
    } else {
      if (!table.delete(keyOf(c.old))) throw new ReplayMismatchError('delete matched 0 rows');
    }
  }
  return table;
}

/** What replay.ts's set-based statements do with a folded table, with the same checks. */
function applyFolded(start: Table, folded: FoldedTable[]): Table {
  const table = new Map(start);
  const k = (key: string[]) => key.join('|');
  for (const f of folded) {
    for (const key of f.mustBeAbsent) if (table.has(k(key))) throw new ReplayMismatchError('inserted row already there');
    for (const key of f.deletes) if (!table.delete(k(key))) throw new ReplayMismatchError('delete matched 0 rows');
    for (const group of f.updates) {
      for (const r of group.rows) {
        const key = keyOf(r);
        const before = table.get(key);
        if (!before) throw new ReplayMismatchError('update matched 0 rows');
        table.set(key, before.map((v, i) => (group.columns.includes(i) ? r[i] : v)));
      }
    }
    for (const r of f.inserts) {
      if (table.has(keyOf(r))) throw new ReplayMismatchError('duplicate key');
      if (r.includes(UNCHANGED)) throw new Error('an insert with an unchanged value');
      table.set(keyOf(r), r);
    }
  }
  return table;
}

function folded(changes: Change[]): FoldedTable[] {
  const folder = new ChangeFolder();
  for (const c of changes) expect(folder.fold(c, DOCS, PK)).toBe(true);
  return folder.drain();
}

const outcome = (fn: () => Table) => {
  try {
    return { rows: [...fn().entries()].sort(([a], [b]) => a.localeCompare(b)) };
  } catch (error) {
    if (error instanceof ReplayMismatchError) return { mismatch: true };
    throw error;
  }
};

/** A small deterministic PRNG, so a failure is reproducible from its seed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('folding replay per primary key', () => {
  it('keeps what row-at-a-time replay would do, mismatches included, over random histories', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const random = prng(seed);
      const pick = (n: number) => Math.floor(random() * n);
      const start: Table = new Map();
      for (let id = 0; id < 6; id++) if (random() < 0.5) start.set(keyOf(row(id, 'seed')), row(id, 'seed'));
      // Mostly valid histories (tracking what exists), sometimes an invalid change to check mismatches.
      const exists = new Set([...start.values()].map((r) => Number(r[1])));
      const changes: Change[] = [];
      for (let n = 0; n < 1 + pick(12); n++) {
        const id = pick(6);
        const valid = random() < 0.95;
        const op = exists.has(id) === valid ? (random() < 0.6 ? 'update' : 'delete') : 'insert';
        if (op === 'insert') {
          changes.push(insert(row(id, `t${seed}.${n}`, `b${seed}.${n}`)));
          exists.add(id);
        } else if (op === 'update') {
          changes.push(update(row(id, `t${seed}.${n}`, random() < 0.5 ? UNCHANGED : `b${seed}.${n}`), random() < 0.3 ? row(id, 'old', 'old') : undefined));
        } else {
          changes.push(del(id));
          exists.delete(id);
        }
      }
      const expected = outcome(() => replayRowAtATime(start, changes));
      const actual = outcome(() => {
        const folder = new ChangeFolder();
        for (const c of changes) expect(folder.fold(c, DOCS, PK)).toBe(true);
        return applyFolded(start, folder.drain());
      });
      expect(actual, `seed ${seed}: ${JSON.stringify(changes)}`).toEqual(expected);
    }
  });

  it('folds an insert and its updates into one insert of the last image, unchanged TOAST kept from the insert', () => {
    const [table] = folded([insert(row(1, 'a', 'big body')), update(row(1, 'b', UNCHANGED)), update(row(1, 'c', UNCHANGED))]);
    expect(table.inserts).toEqual([row(1, 'c', 'big body')]);
    expect(table.updates).toEqual([]);
    expect(table.deletes).toEqual([]);
  });

  it('updates a staged row in place with only the columns WAL carried, grouped by those columns', () => {
    const [table] = folded([update(row(1, 'a', UNCHANGED)), update(row(2, 'b', UNCHANGED)), update(row(3, 'c', 'new body'))]);
    expect(table.updates).toEqual([
      { columns: [0, 1, 2], rows: [row(1, 'a', UNCHANGED), row(2, 'b', UNCHANGED)] },
      { columns: [0, 1, 2, 3], rows: [row(3, 'c', 'new body')] },
    ]);
  });

  it('turns delete-then-insert of a staged row into a delete and an insert, never an update that keeps old columns', () => {
    const [table] = folded([del(1), insert(row(1, 'again'))]);
    expect(table.deletes).toEqual([[T, '1']]);
    expect(table.inserts).toEqual([row(1, 'again')]);
    expect(table.updates).toEqual([]);
  });

  it('remembers that a row inserted and deleted again must not have been staged', () => {
    const [table] = folded([insert(row(1, 'brief')), del(1)]);
    expect(table.mustBeAbsent).toEqual([[T, '1']]);
    expect(table.inserts).toEqual([]);
    expect(table.deletes).toEqual([]);
  });

  it('throws a mismatch where row-at-a-time replay would find a row missing or already there', () => {
    const folder = new ChangeFolder();
    folder.fold(del(1), DOCS, PK);
    expect(() => folder.fold(update(row(1, 'x')), DOCS, PK)).toThrow(ReplayMismatchError);
    expect(() => folder.fold(del(1), DOCS, PK)).toThrow(ReplayMismatchError);
    folder.fold(insert(row(2, 'x')), DOCS, PK);
    expect(() => folder.fold(insert(row(2, 'y')), DOCS, PK)).toThrow(ReplayMismatchError);
  });

  it('refuses what it cannot prove equivalent, leaving the folder as it was', () => {
    const folder = new ChangeFolder();
    expect(folder.fold({ op: 'truncate', rels: [1], cascade: false }, DOCS, PK)).toBe(false);
    // The key changes: the new row takes the old one's unchanged values, which only the table knows.
    expect(folder.fold(update(row(2, 'moved', UNCHANGED), row(1, 'old', 'old')), DOCS, PK)).toBe(false);
    const numericKey: Relation = { ...DOCS, columns: DOCS.columns.map((c) => (c.name === 'id' ? { ...c, typeOid: 1700 } : c)) };
    expect(folder.fold(insert(row(1, 'a')), numericKey, PK)).toBe(false);
    expect(folder.fold({ op: 'insert', rel: 1, new: [T, null, 'no key', 'b'] }, DOCS, PK)).toBe(false);
    expect(folder.rows).toBe(0);
    expect(folder.drain()).toEqual([]);

    folder.fold(insert(row(1, 'a')), DOCS, PK);
    const reshaped: Relation = { ...DOCS, columns: [...DOCS.columns, { name: 'extra', typeOid: 25, key: false }] };
    expect(folder.fold(insert([...row(2, 'b'), 'x']), reshaped, PK)).toBe(false);
    expect(folder.rows).toBe(1);
  });
});
