import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { PROJECT_ROOT } from '../src/config';
import { localEndpoints } from '../src/stack/endpoints';
import { Benchmark, BenchContext, BenchRow, createScratchDatabase } from './bench-context';
import { describeMachine, markdownReport, textTable } from './report';

export const RESULTS_FILE = join(PROJECT_ROOT, 'bench', 'results.md');
/** Git-ignored: where runs of some benchmarks only write their table. */
export const PARTIAL_RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

export interface RunOptions {
  /** multiplier on data sizes; default: $BENCH_SCALE or 1 */
  scale?: number;
  /** superuser URL of the Postgres to measure on; default: the local stack's */
  adminUrl?: string;
  resultsFile?: string;
}

/** Every `*.bench.ts` next to this file (`*.bench.js` once compiled), sorted by file name. */
export function discoverBenchmarks(dir = __dirname): Benchmark[] {
  return readdirSync(dir)
    .filter((file) => /\.bench\.(ts|js)$/.test(file))
    .sort()
    .map((file) => {
      const loaded = require(join(dir, file)) as { default?: Benchmark };
      if (!loaded.default?.name || typeof loaded.default.run !== 'function') {
        throw new Error(`${file} must export default { name, run(ctx) }`);
      }
      return loaded.default;
    });
}

function scaleFrom(value: string | undefined): number {
  const scale = Number(value ?? 1);
  if (!(scale > 0)) throw new RangeError(`Scale must be a positive number (got ${value}), e.g. 0.1 for a quick run.`);
  return scale;
}

async function postgresVersion(adminUrl: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return `PostgreSQL ${(await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v}`;
  } finally {
    await client.end();
  }
}

/**
 * Runs the benchmarks whose names are in `filter` (all when empty), prints a
 * table and writes bench/results.md. Benchmarks run one after another: they
 * share the machine, and a parallel neighbour would skew both numbers.
 */
export async function runBenchmarks(filter: string[] = [], options: RunOptions = {}): Promise<BenchRow[]> {
  const all = discoverBenchmarks();
  const unknown = filter.filter((name) => !all.some((b) => b.name === name));
  if (unknown.length > 0) {
    throw new Error(`Unknown benchmark ${unknown.join(', ')}; available: ${all.map((b) => b.name).join(', ')}`);
  }
  const selected = filter.length > 0 ? all.filter((b) => filter.includes(b.name)) : all;
  const adminUrl = options.adminUrl ?? localEndpoints().adminUrl;
  const ctx: BenchContext = {
    adminUrl,
    scale: options.scale ?? scaleFrom(process.env.BENCH_SCALE),
    createScratchDatabase: (prefix) => createScratchDatabase(adminUrl, prefix),
    log: (message) => process.stderr.write(`${message}\n`),
  };
  const rows: BenchRow[] = [];
  for (const benchmark of selected) {
    ctx.log(`bench ${benchmark.name} (scale ${ctx.scale})…`);
    rows.push(...(await benchmark.run(ctx)));
  }
  const notes = selected.filter((b) => b.description).map((b) => `${b.name}: ${b.description}`);
  notes.push(`scale ${ctx.scale}`);
  const machine = describeMachine(await postgresVersion(adminUrl));
  process.stdout.write(`${textTable(rows)}\n`);
  // Only a full run replaces the committed table; a partial one must not erase the other benchmarks' rows.
  const file = options.resultsFile ?? (filter.length > 0 ? join(PARTIAL_RESULTS_DIR, `${[...filter].sort().join('+')}.md`) : RESULTS_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, markdownReport(rows, machine, notes));
  ctx.log(`results written to ${file}`);
  return rows;
}

/** `node dist/bench/run.js [name …] [--scale N]` */
function parseArgs(argv: string[]): { filter: string[]; scale?: number } {
  const filter: string[] = [];
  let scale: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--scale') scale = scaleFrom(argv[++i]);
    else if (arg.startsWith('--scale=')) scale = scaleFrom(arg.slice('--scale='.length));
    else filter.push(arg);
  }
  return { filter, scale };
}

if (require.main === module) {
  const { filter, scale } = parseArgs(process.argv.slice(2));
  runBenchmarks(filter, { scale }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
