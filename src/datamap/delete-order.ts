import { ForeignKey, qualifiedName, TableRef, tableKey } from './datamap.types';

export interface DeleteOrder {
  /** every given table once, each before every table it references */
  order: TableRef[];
  /** tables on a foreign-key cycle, placed where the cycle was broken */
  cyclic: TableRef[];
}

/**
 * Orders tables so that rows referencing others are deleted first (children
 * before parents): a topological sort over the foreign keys among the given
 * tables. Keys to tables outside the set and self-references (a parent row in
 * the same table goes in the same batch, or by the FK's own ON DELETE) do not
 * constrain the order. Among tables that are free at the same time the order
 * is alphabetical, so the result is stable across runs. A cycle cannot be
 * ordered; it is broken at the alphabetically first table on it, and reported.
 */
export function computeDeleteOrder(tables: ReadonlyArray<TableRef & { foreignKeys: ForeignKey[] }>): DeleteOrder {
  const byKey = new Map(tables.map((t) => [tableKey(t), t]));
  // For each table: the tables whose rows reference it and must go first.
  const pendingChildren = new Map<string, Set<string>>(tables.map((t) => [tableKey(t), new Set<string>()]));
  for (const table of tables) {
    for (const fk of table.foreignKeys) {
      const parent = tableKey(fk.to);
      if (parent !== tableKey(table) && pendingChildren.has(parent)) pendingChildren.get(parent)!.add(tableKey(table));
    }
  }

  const order: TableRef[] = [];
  const cyclic: TableRef[] = [];
  const byName = (a: string, b: string) => qualifiedName(byKey.get(a)!).localeCompare(qualifiedName(byKey.get(b)!));
  while (pendingChildren.size > 0) {
    const remaining = [...pendingChildren.keys()].sort(byName);
    let next = remaining.find((key) => pendingChildren.get(key)!.size === 0);
    if (next === undefined) {
      // Every remaining table waits on another: break a cycle, not a table merely blocked by one.
      next = remaining.find((key) => reachesItself(key, pendingChildren)) ?? remaining[0];
      cyclic.push(ref(byKey.get(next)!));
    }
    pendingChildren.delete(next);
    for (const children of pendingChildren.values()) children.delete(next);
    order.push(ref(byKey.get(next)!));
  }
  return { order, cyclic };
}

function reachesItself(start: string, edges: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  const seen = new Set<string>();
  const stack = [...(edges.get(start) ?? [])];
  for (let key = stack.pop(); key !== undefined; key = stack.pop()) {
    if (key === start) return true;
    if (seen.has(key)) continue;
    seen.add(key);
    stack.push(...(edges.get(key) ?? []));
  }
  return false;
}

function ref(table: TableRef): TableRef {
  return { schema: table.schema, name: table.name };
}
