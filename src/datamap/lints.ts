import { DataMap, describeHop, Lint, qualifiedName, sameTable, TableEntry, tableKey } from './datamap.types';
import { computeDeleteOrder } from './delete-order';
import {
  addTenantColumn,
  createIndex,
  createTenantPolicy,
  enableRowLevelSecurity,
  replicaIdentityFull,
  TENANT_SETTING,
  tenantScopedForeignKey,
} from './lint-fixes';

type Model = Omit<DataMap, 'lints'>;
type TableLint = (map: Model, table: TableEntry) => Lint[];

/**
 * Every finding about the mapped schema: each lint over every table in map
 * order, then the findings about the FK graph. Pure: the model in, lints out.
 */
export function lintDataMap(map: Model): Lint[] {
  const perTable: TableLint[] = [
    missingRowLevelSecurity,
    crossTenantForeignKeys,
    globalReferencesTenantData,
    missingTenantIndex,
    notPitrCapable,
    replicaIdentity,
  ];
  // Check by check, so findings of one kind read together.
  return [...perTable.flatMap((check) => map.tables.flatMap((table) => check(map, table))), ...foreignKeyCycles(map)];
}

function lint(table: TableEntry, code: string, severity: Lint['severity'], message: string, fix?: string): Lint {
  return {
    code,
    severity,
    table: { schema: table.schema, name: table.name },
    message: fix ? `${message} Fix:\n${fix}` : message,
    ...(fix ? { fix } : {}),
  };
}

export const missingTenantIndex: TableLint = (map, table) => {
  if (table.hasTenantIndex || (table.kind !== 'tenant' && table.kind !== 'child')) return [];
  const columns = table.kind === 'tenant' ? [map.tenantColumn] : table.joinPath[0].columns.map((pair) => pair.from);
  const why = table.kind === 'tenant' ? '' : ` (its join column to ${qualifiedName(table.joinPath[0].to)})`;
  return [lint(table, 'missing-tenant-index', 'warning',
    `${qualifiedName(table)} has no index leading with ${columns.join(', ')}${why}, so every per-tenant export, ` +
      'erasure batch and retention purge scans the whole table.', createIndex(table, columns))];
};

export const missingRowLevelSecurity: TableLint = (map, table) => {
  if (table.kind !== 'tenant') return [];
  const { keyType } = map.tenantTable;
  if (!table.rlsEnabled) {
    return [lint(table, 'missing-rls', 'error',
      `${qualifiedName(table)} has no row-level security: a query that forgets its tenant filter reads every tenant's rows, ` +
        `and the service cannot fence itself with ${TENANT_SETTING}.`, enableRowLevelSecurity(table, map.tenantColumn, keyType))];
  }
  if (!table.hasTenantPolicy) {
    return [lint(table, 'rls-without-tenant-policy', 'error',
      `${qualifiedName(table)} has row-level security on, but no policy reads ${TENANT_SETTING}, ` +
        'so the service setting it fences nothing.', createTenantPolicy(table, map.tenantColumn, keyType))];
  }
  return [];
};

/** An FK between two tenant tables that leaves out the tenant column lets a row point into another tenant. */
export const crossTenantForeignKeys: TableLint = (map, table) => {
  if (table.kind !== 'tenant') return [];
  const tenantTables = new Set(map.tables.filter((t) => t.kind === 'tenant').map(tableKey));
  return table.foreignKeys
    .filter((fk) => tenantTables.has(tableKey(fk.to)))
    .filter((fk) => !fk.columns.some((pair) => pair.from === map.tenantColumn && pair.to === map.tenantColumn))
    .map((fk) => {
      const target = map.tables.find((t) => sameTable(t, fk.to))!;
      const targetKey = [map.tenantColumn, ...fk.columns.map((pair) => pair.to)];
      const keyExists = target.primaryKey.length === targetKey.length && targetKey.every((c) => target.primaryKey.includes(c));
      const fix = [...(keyExists ? [] : [createIndex(target, targetKey, true)]), tenantScopedForeignKey(fk, map.tenantColumn)].join('\n');
      return lint(table, 'cross-tenant-fk', 'error',
        `Foreign key ${fk.constraint} (${qualifiedName(table)} → ${qualifiedName(fk.to)}) does not include ${map.tenantColumn}, ` +
          'so a row can reference another tenant\'s row, and erasing one tenant can fail or cascade into another. ' +
          'Make the key tenant-scoped (VALIDATE reports rows that already cross).', fix);
    });
};

/** Child rows carry no tenant id, so a tenant's WAL stream cannot pick them out. */
export const notPitrCapable: TableLint = (map, table) => {
  if (table.kind !== 'child') return [];
  const hop = table.joinPath[0];
  const parent = map.tables.find((t) => sameTable(t, hop.to));
  const parentColumn = parent?.kind === 'tenants' ? map.tenantTable.keyColumn : map.tenantColumn;
  const columnType = parent?.columns.find((c) => c.name === parentColumn)?.type;
  const path = table.joinPath.map((h) => describeHop(h)).join(', ');
  const message =
    `${qualifiedName(table)} has no ${map.tenantColumn} column: it is exported and erased through ${path}, ` +
    'but its changes in WAL name no tenant, so single-tenant point-in-time restore cannot replay them. ' +
    `Add ${map.tenantColumn} and backfill it` + (parent?.kind === 'child' ? ` after ${qualifiedName(hop.to)} has it.` : '.');
  // Multi-hop children are backfilled parent first, so only a direct fix is given.
  const fix = parent && parent.kind !== 'child' && columnType
    ? addTenantColumn(table, hop, map.tenantColumn, columnType, parentColumn)
    : undefined;
  return [lint(table, 'not-pitr-capable', 'warning', message, fix)];
};

/**
 * Replica identity decides what WAL says about the old row of an UPDATE or
 * DELETE; PITR replays from WAL, so whatever it leaves out is lost.
 */
export const replicaIdentity: TableLint = (map, table) => {
  if (table.kind === 'global') return [];
  const name = qualifiedName(table);
  if (table.replicaIdentity === 'nothing') {
    return [lint(table, 'replica-identity-nothing', 'error',
      `${name} has REPLICA IDENTITY NOTHING: its UPDATEs and DELETEs reach WAL without the old row's key, so PITR cannot replay them.`,
      replicaIdentityFull(table))];
  }
  if (table.replicaIdentity === 'default' && table.primaryKey.length === 0) {
    return [lint(table, 'replica-identity-no-key', 'error',
      `${name} has no primary key, so REPLICA IDENTITY DEFAULT logs no old key for UPDATEs and DELETEs ` +
        '(and a publication over it makes the application\'s UPDATEs fail). Add a primary key, or log whole rows.',
      replicaIdentityFull(table))];
  }
  const lints: Lint[] = [];
  const identity = table.replicaIdentityColumns;
  if (table.kind === 'tenant' && !identity.includes(map.tenantColumn)) {
    lints.push(lint(table, 'replica-identity-without-tenant', 'error',
      `The replica identity of ${name} (${identity.join(', ')}) leaves out ${map.tenantColumn}, so a DELETE in WAL cannot be ` +
        `attributed to a tenant. Make (${map.tenantColumn}, …) the primary key or a unique replica identity index, or log whole rows.`,
      replicaIdentityFull(table)));
  }
  const toasted = table.columns.filter((c) => c.toastable && !identity.includes(c.name)).map((c) => c.name);
  if (table.replicaIdentity !== 'full' && toasted.length > 0) {
    lints.push(lint(table, 'replica-identity-toast', 'warning',
      `${name} has TOAST-able columns outside its replica identity (${toasted.join(', ')}): an UPDATE that leaves such a large ` +
        'value unchanged omits it from WAL, so PITR must carry it forward from the snapshot. FULL logs it, at the cost of more WAL.',
      replicaIdentityFull(table)));
  }
  return lints;
};

/** A table forced global in config that still references tenant data blocks or cascades erasure. */
export const globalReferencesTenantData: TableLint = (map, table) => {
  if (table.kind !== 'global') return [];
  const scoped = new Set(map.tables.filter((t) => t.kind !== 'global').map(tableKey));
  return table.foreignKeys
    .filter((fk) => scoped.has(tableKey(fk.to)))
    .map((fk) => lint(table, 'global-references-tenant-data', 'error',
      `${qualifiedName(table)} is global but its foreign key ${fk.constraint} references ${qualifiedName(fk.to)}, which holds tenant data: ` +
        'erasing that tenant will fail on this key or cascade into a table erasure never verifies. Remove kind: global, or drop the key.'));
};

/** Tables on an FK cycle cannot be deleted children-first; erasure needs deferrable keys or an UPDATE to break it. */
export function foreignKeyCycles(map: Model): Lint[] {
  const { cyclic } = computeDeleteOrder(map.tables.filter((t) => t.kind !== 'global'));
  return cyclic.map((ref) => {
    const table = map.tables.find((t) => sameTable(t, ref))!;
    return lint(table, 'fk-cycle', 'warning',
      `${qualifiedName(table)} is on a foreign-key cycle, so no delete order puts every child before its parent. ` +
        'Make one key on the cycle DEFERRABLE INITIALLY DEFERRED, or ON DELETE SET NULL.');
  });
}
