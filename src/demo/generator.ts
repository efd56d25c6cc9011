import { availableParallelism } from 'node:os';
import { Client, escapeIdentifier } from 'pg';
import { copyTable, inParallel } from './copy-load';
import {
  advanceIdentitySequences,
  dropForeignKeys,
  dropSecondaryIndexes,
  prepareDemoSchema,
  restoreForeignKeys,
  restoreSecondaryIndexes,
} from './demo-schema';
import { plannedRows, RowContext, rowContextFor } from './rows';
import { DEMO_TABLES, DemoShape, DemoTable, planTenants, TenantPlan, Tier } from './tenant-plan';

export { demoTenantIds } from './tenant-plan';

/** What `npm start` seeds: eight tenants, about 50,000 rows, a few seconds. */
export const DEFAULT_DEMO = Object.freeze({ seed: 42, tenants: 8, rowsPerTenant: 6_250 });

export interface SeedProgress {
  table: DemoTable;
  loadedRows: number;
  totalRows: number;
}

export interface SeedOptions extends DemoShape {
  /** drop and recreate the demo tables first */
  reset?: boolean;
  /** tables copied at once, each on its own connection (default: the CPU count, at least 2) */
  parallelTables?: number;
  onProgress?(progress: SeedProgress): void;
}

export interface TenantSummary {
  index: number;
  id: string;
  name: string;
  tier: Tier;
  planId: string;
  rows: number;
  rowsByTable: Record<DemoTable, number>;
}

export interface SeedResult {
  tenants: TenantSummary[];
  rowsByTable: Record<DemoTable, number>;
  totalRows: number;
  seconds: number;
}

function checkShape(options: SeedOptions): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(options.seed)) problems.push('seed must be an integer');
  if (!Number.isInteger(options.tenants) || options.tenants < 1) problems.push('tenants must be an integer ≥ 1');
  if (!Number.isInteger(options.rowsPerTenant) || options.rowsPerTenant < 1) problems.push('rowsPerTenant must be an integer ≥ 1');
  const whale = options.whaleShare;
  if (whale !== undefined && !(whale > 0 && whale < 1)) problems.push('whaleShare must be between 0 and 1 (exclusive)');
  if (problems.length > 0) throw new RangeError(`Invalid demo options: ${problems.join('; ')}`);
}

export function summarizeTenant(plan: TenantPlan): TenantSummary {
  const rowsByTable = plannedRows([plan]);
  const rows = Object.values(rowsByTable).reduce((a, b) => a + b, 0);
  return { index: plan.index, id: plan.id, name: plan.name, tier: plan.tier, planId: plan.planId, rows, rowsByTable };
}

/** Copies every table, several at a time; returns the rows each COPY reported. */
async function loadTables(adminUrl: string, plans: TenantPlan[], ctx: RowContext, options: SeedOptions) {
  const planned = plannedRows(plans);
  const totalRows = Object.values(planned).reduce((a, b) => a + b, 0);
  let loadedRows = 0;
  // Largest tables first, so the last connection to finish is not the longest.
  const tables = [...DEMO_TABLES].sort((a, b) => planned[b] - planned[a]);
  const counts = await inParallel(
    tables.map((table) => () =>
      copyTable(adminUrl, table, plans, ctx, (rows) => {
        loadedRows += rows;
        options.onProgress?.({ table, loadedRows, totalRows });
      }),
    ),
    options.parallelTables ?? Math.max(2, availableParallelism()),
  );
  const loaded = new Map(tables.map((table, i) => [table, counts[i]]));
  return Object.fromEntries(DEMO_TABLES.map((table) => [table, loaded.get(table) ?? 0])) as Record<DemoTable, number>;
}

/**
 * Seeds the demo application database with deterministic, skewed tenant data
 * through COPY. Same options, same bytes. `adminUrl` must be able to create
 * tables and drop constraints (the superuser, not the service role).
 */
export async function seedDemo(adminUrl: string, options: SeedOptions): Promise<SeedResult> {
  checkShape(options);
  const started = process.hrtime.bigint();
  const plans = planTenants(options);
  const ctx = rowContextFor(options);

  const admin = new Client({ connectionString: adminUrl, application_name: 'compliance-ops seed' });
  await admin.connect();
  try {
    await prepareDemoSchema(admin, options.reset ?? false);
    const foreignKeys = await dropForeignKeys(admin);
    const indexes = await dropSecondaryIndexes(admin);
    const counts = await loadTables(adminUrl, plans, ctx, options).catch((error: unknown) => {
      throw new Error(
        `Seeding stopped part-way (${(error as Error).message}); the demo tables are incomplete and lack their ` +
          'foreign keys. Seed again with --reset.',
        { cause: error },
      );
    });
    // Indexes first: validating a foreign key looks rows up through them.
    await restoreSecondaryIndexes(admin, indexes);
    await restoreForeignKeys(admin, foreignKeys);
    await advanceIdentitySequences(admin);
    await admin.query(`ANALYZE ${DEMO_TABLES.map(escapeIdentifier).join(', ')}`);
    return {
      tenants: plans.map(summarizeTenant),
      rowsByTable: counts,
      totalRows: Object.values(counts).reduce((a, b) => a + b, 0),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } finally {
    await admin.end();
  }
}
