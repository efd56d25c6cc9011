import { describe, expect, it } from 'vitest';
import { DataMap } from '../../src/datamap/datamap.types';
import { DomainError } from '../../src/errors';
import { groupByTenant, UnattributableChangeError } from '../../src/restore/group-by-tenant';
import { resolveTarget, timeToMicros } from '../../src/restore/restore-target';
import { ALL_TENANTS, ArchivedTransaction, Relation } from '../../src/restore/wal.types';

const tx = (commitLsn: string, commitMicros: string, changes: ArchivedTransaction['changes'] = []): ArchivedTransaction =>
  ({ xid: 1, commitLsn, endLsn: commitLsn, commitMicros, changes });

describe('restore targets', () => {
  it('an LSN target takes the transactions whose commit record starts before it', () => {
    const t = resolveTarget({ lsn: '0/200' });
    expect(t.includes(tx('0/1FF', '0'))).toBe(true);
    expect(t.includes(tx('0/200', '0'))).toBe(false);
  });

  it('a time target is inclusive to the microsecond', () => {
    const t = resolveTarget({ time: '2026-01-01T00:00:00.000001Z' });
    const at = timeToMicros('2026-01-01T00:00:00.000001Z');
    expect(t.includes(tx('0/1', at.toString()))).toBe(true);
    expect(t.includes(tx('0/1', (at + 1n).toString()))).toBe(false);
    expect(timeToMicros('2026-01-01T01:00:00+01:00')).toBe(timeToMicros('2026-01-01T00:00:00Z'));
  });

  it('refuses malformed targets with bad input', () => {
    for (const target of [{ lsn: 'yesterday' }, { time: '2026-01-01' }, { time: 'soon' }, {} as { lsn: string }]) {
      const error = (() => { try { resolveTarget(target); } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).kind).toBe('bad_input');
    }
  });
});

const relation: Relation = {
  oid: 7, schema: 'public', name: 'users', replicaIdentity: 'd',
  columns: [{ name: 'tenant_id', typeOid: 2950, key: true }, { name: 'id', typeOid: 20, key: true }, { name: 'email', typeOid: 25, key: false }],
};
const map = {
  tenantColumn: 'tenant_id', tenantTable: { schema: 'public', name: 'tenants', keyColumn: 'id', keyType: 'uuid' },
  tables: [{ schema: 'public', name: 'users', kind: 'tenant' }],
} as unknown as DataMap;
const rels = new Map([[7, relation]]);

describe('grouping changes by tenant', () => {
  it('splits one transaction into one share per tenant, keeping its commit LSN', () => {
    const grouped = groupByTenant(map, rels, [tx('0/10', '1', [
      { op: 'insert', rel: 7, new: ['a', '1', 'x'] },
      { op: 'delete', rel: 7, old: ['b', '2', null] },
      { op: 'truncate', rels: [7], cascade: false },
    ])]);
    expect([...grouped.keys()].sort()).toEqual(['*', 'a', 'b'].sort());
    expect(grouped.get('a')![0].commitLsn).toBe('0/10');
    expect(grouped.get(ALL_TENANTS)![0].changes[0].op).toBe('truncate');
  });

  it('turns an update that moves a row between tenants into a delete and an insert', () => {
    const grouped = groupByTenant(map, rels, [tx('0/10', '1', [{ op: 'update', rel: 7, old: ['a', '1', null], new: ['b', '1', 'x'] }])]);
    expect(grouped.get('a')![0].changes).toEqual([{ op: 'delete', rel: 7, old: ['a', '1', null] }]);
    expect(grouped.get('b')![0].changes).toEqual([{ op: 'insert', rel: 7, new: ['b', '1', 'x'] }]);
  });

  it('refuses a delete whose replica identity lacks the tenant column', () => {
    expect(() => groupByTenant(map, rels, [tx('0/10', '1', [{ op: 'delete', rel: 7, old: [null, '1', null] }])])).toThrow(UnattributableChangeError);
  });
});
