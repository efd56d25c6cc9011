import { DataMap, TableEntry } from '../datamap/datamap.types';
import { ALL_TENANTS, ArchivedTransaction, Change, Relation, Tuple } from './wal.types';

export class UnattributableChangeError extends Error {
  constructor(table: string, why: string) {
    super(`a change to ${table} cannot be tied to a tenant: ${why}. See the data map lints for the replica identity this table needs.`);
    this.name = 'UnattributableChangeError';
  }
}

/** The column naming a row's tenant in this relation, from the data map. */
function tenantColumnIndex(map: DataMap, relation: Relation): number {
  const entry: TableEntry | undefined = map.tables.find((t) => t.schema === relation.schema && t.name === relation.name);
  const label = `${relation.schema}.${relation.name}`;
  if (!entry || entry.kind === 'global') throw new UnattributableChangeError(label, 'it is not a tenant table in the data map');
  if (entry.kind === 'child') throw new UnattributableChangeError(label, 'it has no tenant column (child tables are not PITR-capable)');
  const column = entry.kind === 'tenants' ? map.tenantTable.keyColumn : map.tenantColumn;
  const index = relation.columns.findIndex((c) => c.name === column);
  if (index < 0) throw new UnattributableChangeError(label, `column ${column} is missing from the decoded relation`);
  return index;
}

function tenantOf(tuple: Tuple | undefined, index: number): string | null {
  const value = tuple?.[index];
  return typeof value === 'string' ? value : null;
}

/**
 * Splits each transaction into one per tenant, keeping commit LSN, end LSN,
 * xid and commit time, so replay can apply a tenant's share atomically.
 * An UPDATE that moves a row between tenants becomes a DELETE for the old
 * tenant and an INSERT for the new. TRUNCATE is table-wide and goes to
 * ALL_TENANTS. A DELETE whose identity lacks the tenant column is refused:
 * filing it under no tenant would silently lose it.
 */
export function groupByTenant(map: DataMap, relations: Map<number, Relation>, txs: ArchivedTransaction[]): Map<string, ArchivedTransaction[]> {
  const byTenant = new Map<string, ArchivedTransaction[]>();
  const indexCache = new Map<number, number>();
  const indexOf = (rel: number) => {
    let index = indexCache.get(rel);
    if (index === undefined) {
      const relation = relations.get(rel);
      if (!relation) throw new Error(`pgoutput: change for relation ${rel} before its Relation message`);
      index = tenantColumnIndex(map, relation);
      indexCache.set(rel, index);
    }
    return index;
  };
  for (const tx of txs) {
    const shares = new Map<string, Change[]>();
    const add = (tenant: string, change: Change) => {
      let list = shares.get(tenant);
      if (!list) shares.set(tenant, (list = []));
      list.push(change);
    };
    for (const change of tx.changes) {
      if (change.op === 'truncate') {
        add(ALL_TENANTS, change);
        continue;
      }
      const index = indexOf(change.rel);
      const label = () => {
        const r = relations.get(change.rel)!;
        return `${r.schema}.${r.name}`;
      };
      if (change.op === 'insert') {
        const tenant = tenantOf(change.new, index);
        if (tenant === null) throw new UnattributableChangeError(label(), 'the inserted row has no tenant');
        add(tenant, change);
      } else if (change.op === 'delete') {
        const tenant = tenantOf(change.old, index);
        if (tenant === null) throw new UnattributableChangeError(label(), 'the deleted row’s replica identity does not include the tenant column');
        add(tenant, change);
      } else {
        const after = tenantOf(change.new, index);
        const before = change.old ? tenantOf(change.old, index) : after;
        if (after === null) throw new UnattributableChangeError(label(), 'the updated row has no tenant');
        if (before !== null && before !== after) {
          if (change.new.some((d) => d === false)) throw new UnattributableChangeError(label(), 'a row moved between tenants with unchanged TOASTed values; use REPLICA IDENTITY FULL');
          add(before, { op: 'delete', rel: change.rel, old: change.old! });
          add(after, { op: 'insert', rel: change.rel, new: change.new });
        } else add(after, change);
      }
    }
    for (const [tenant, changes] of shares) {
      let list = byTenant.get(tenant);
      if (!list) byTenant.set(tenant, (list = []));
      list.push({ ...tx, changes });
    }
  }
  return byTenant;
}
