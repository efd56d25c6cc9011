import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { escapeIdentifier, escapeLiteral } from 'pg';
import {
  advanceIdentitySequences,
  DEMO_SCHEMA_FILE,
  dropForeignKeys,
  dropSecondaryIndexes,
  restoreForeignKeys,
  restoreSecondaryIndexes,
} from '../src/demo/demo-schema';
import { seedDemo } from '../src/demo/generator';
import { COPY_COLUMNS, rowContextFor, tableChunks } from '../src/demo/rows';
import { DEMO_TABLES, DemoShape, DemoTable, planTenants } from '../src/demo/tenant-plan';
import { Benchmark, BenchContext, BenchRow, elapsedSeconds, withClient } from './bench-context';

const run = promisify(execFile);
const PSQL = process.env.PSQL ?? 'psql';
const TENANTS = 40;
/** 40 × 25,000 = 1,000,000 rows at scale 1. */
const ROWS_PER_TENANT = 25_000;



/** Each load starts from a clean buffer pool, not paying to write out the previous one's dirty pages. */
async function checkpoint(url: string): Promise<void> {
  await withClient(url, (client) => client.query('CHECKPOINT'));
}

/** The same rows the generator streams, written to one COPY text file per table. */
async function writeCopyFiles(shape: DemoShape, dir: string): Promise<Map<DemoTable, string>> {
  const plans = planTenants(shape);
  const files = new Map<DemoTable, string>();
  for (const table of DEMO_TABLES) {
    const file = join(dir, `${table}.copy`);
    const texts = (function* () {
      for (const chunk of tableChunks(table, plans, rowContextFor(shape))) yield chunk.text;
    })();
    await pipeline(Readable.from(texts), createWriteStream(file));
    files.set(table, file);
  }
  return files;
}

async function psql(url: string, args: string[]): Promise<void> {
  await run(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args]);
}

async function psqlCopyAll(url: string, files: Map<DemoTable, string>): Promise<void> {
  for (const table of DEMO_TABLES) {
    const columns = COPY_COLUMNS[table].map(escapeIdentifier).join(', ');
    await psql(url, ['-c', `\\copy ${escapeIdentifier(table)} (${columns}) FROM ${escapeLiteral(files.get(table) ?? '')}`]);
  }
}

/** What most users do: apply the schema, then `\copy` each file, parents first. Returns load seconds. */
async function loadWithPlainPsql(url: string, files: Map<DemoTable, string>): Promise<number> {
  await psql(url, ['-f', DEMO_SCHEMA_FILE]);
  await checkpoint(url);
  const started = process.hrtime.bigint();
  await psqlCopyAll(url, files);
  return elapsedSeconds(started);
}

/**
 * What an expert does (pg_restore's order): drop foreign keys and secondary
 * indexes, `\copy` each file, then rebuild, validate and ANALYZE — the same
 * steps seedDemo takes, minus generating rows and parallel connections.
 */
async function loadWithTunedPsql(url: string, files: Map<DemoTable, string>): Promise<number> {
  await psql(url, ['-f', DEMO_SCHEMA_FILE]);
  await checkpoint(url);
  const started = process.hrtime.bigint();
  const deferred = await withClient(url, async (c) => ({ keys: await dropForeignKeys(c), indexes: await dropSecondaryIndexes(c) }));
  await psqlCopyAll(url, files);
  await withClient(url, async (c) => {
    await restoreSecondaryIndexes(c, deferred.indexes);
    await restoreForeignKeys(c, deferred.keys);
    await advanceIdentitySequences(c);
    await c.query(`ANALYZE ${DEMO_TABLES.map(escapeIdentifier).join(', ')}`);
  });
  return elapsedSeconds(started);
}

async function measureOurs(ctx: BenchContext, shape: DemoShape): Promise<{ rows: number; seconds: number }> {
  const db = await ctx.createScratchDatabase('seed_ours');
  try {
    await checkpoint(db.url);
    const result = await seedDemo(db.url, shape);
    return { rows: result.totalRows, seconds: result.seconds };
  } finally {
    await db.drop();
  }
}

type Loader = (url: string, files: Map<DemoTable, string>) => Promise<number>;

/** Writes the files once (not timed), then times each loader on its own fresh database. */
async function measureBaselines(ctx: BenchContext, shape: DemoShape, loaders: Loader[]): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'compliance-ops-bench-'));
  try {
    const started = process.hrtime.bigint();
    const files = await writeCopyFiles(shape, dir);
    ctx.log(`  files written in ${elapsedSeconds(started).toFixed(1)} s (not counted)`);
    const seconds: number[] = [];
    for (const load of loaders) {
      const db = await ctx.createScratchDatabase('seed_psql');
      try {
        seconds.push(await load(db.url, files));
      } finally {
        await db.drop();
      }
    }
    return seconds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const seedLoad: Benchmark = {
  name: 'seed-load',
  description:
    'ours = seedDemo end to end (generate rows, parallel COPY with keys deferred, re-validate, sequences, ANALYZE); ' +
    'baselines = the same rows pre-written to files (not timed), then `psql \\copy` per table into the same schema: ' +
    'plain (keys checked row by row), or tuned like pg_restore (keys and indexes dropped, then rebuilt, sequences, ANALYZE).',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const shape: DemoShape = { seed: 42, tenants: TENANTS, rowsPerTenant: Math.max(1, Math.round(ROWS_PER_TENANT * ctx.scale)) };
    const ours = await measureOurs(ctx, shape);
    ctx.log(`  generator: ${ours.rows} rows in ${ours.seconds.toFixed(1)} s`);
    const [plain, tuned] = await measureBaselines(ctx, shape, [loadWithPlainPsql, loadWithTunedPsql]);
    ctx.log(`  psql \\copy: ${plain.toFixed(1)} s plain, ${tuned.toFixed(1)} s tuned`);
    const label = `${(ours.rows / 1e6).toFixed(2)}M rows`;
    const rows: BenchRow[] = [];
    for (const [baselineName, seconds] of [['psql \\copy', plain], ['psql \\copy, keys deferred', tuned]] as const) {
      const common = { benchmark: 'seed-load', baselineName };
      rows.push(
        { ...common, metric: `load rate, ${label}`, unit: 'rows/s', ours: ours.rows / ours.seconds, baseline: ours.rows / seconds, ratio: seconds / ours.seconds },
        { ...common, metric: `wall time, ${label}`, unit: 's', ours: ours.seconds, baseline: seconds, ratio: ours.seconds / seconds },
      );
    }
    return rows;
  },
};

export default seedLoad;
