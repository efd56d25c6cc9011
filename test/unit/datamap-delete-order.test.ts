import { describe, expect, it } from 'vitest';
import { ForeignKey, TableRef } from '../../src/datamap/datamap.types';
import { computeDeleteOrder } from '../../src/datamap/delete-order';

/** Tables from `child→parent` edges, e.g. `['comments→documents', 'documents→users', 'users']`. */
function graph(...edges: string[]): Array<TableRef & { foreignKeys: ForeignKey[] }> {
  const tables = new Map<string, TableRef & { foreignKeys: ForeignKey[] }>();
  const get = (name: string) => {
    if (!tables.has(name)) tables.set(name, { schema: 'public', name, foreignKeys: [] });
    return tables.get(name)!;
  };
  for (const edge of edges) {
    const [from, to] = edge.split('→');
    const table = get(from);
    if (to === undefined) continue;
    get(to);
    table.foreignKeys.push({
      constraint: `${from}_${to}_fkey`,
      from: { schema: 'public', name: from },
      to: { schema: 'public', name: to },
      columns: [{ from: `${to}_id`, to: 'id' }],
    });
  }
  return [...tables.values()];
}

const names = (refs: TableRef[]) => refs.map((t) => t.name);

describe('delete order', () => {
  it('puts every child before the tables it references', () => {
    const { order, cyclic } = computeDeleteOrder(
      graph('users→tenants', 'projects→users', 'projects→tenants', 'documents→projects', 'documents→users', 'comments→documents', 'comments→users'),
    );
    expect(names(order)).toEqual(['comments', 'documents', 'projects', 'users', 'tenants']);
    expect(cyclic).toEqual([]);
  });

  it('orders tables that are free at the same time alphabetically, so runs agree', () => {
    const { order } = computeDeleteOrder(graph('b→tenants', 'a→tenants', 'c→tenants'));
    expect(names(order)).toEqual(['a', 'b', 'c', 'tenants']);
  });

  it('ignores self-references and keys to tables outside the set', () => {
    const tables = graph('users→users', 'users→plans').filter((t) => t.name !== 'plans');
    const { order, cyclic } = computeDeleteOrder(tables);
    expect(names(order)).toEqual(['users']);
    expect(cyclic).toEqual([]);
  });

  it('breaks a cycle on the cycle, not at a parent the cycle merely blocks', () => {
    // x ⇄ y, both referencing a: a sorts first but is not on the cycle.
    const { order, cyclic } = computeDeleteOrder(graph('x→y', 'y→x', 'x→a', 'y→a'));
    expect(names(cyclic)).toEqual(['x']);
    expect(names(order)).toEqual(['x', 'y', 'a']);
  });

  it('still orders the acyclic part around a cycle', () => {
    const { order } = computeDeleteOrder(graph('leaf→x', 'x→y', 'y→x', 'y→root'));
    expect(names(order)[0]).toBe('leaf');
    expect(names(order).at(-1)).toBe('root');
  });
});
