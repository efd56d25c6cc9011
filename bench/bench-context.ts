import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';

/**
 * Glossary. A benchmark measures one thing we do side by side with the tool a
 * user would reach for instead (the baseline), on the same machine and data.
 * Each result row states both numbers, their unit and ours ÷ baseline.
 */
export interface BenchRow {
  benchmark: string;
  metric: string;
  ours: number;
  baseline: number;
  /** the alternative we compare against, e.g. "psql \copy" */
  baselineName: string;
  unit: string;
  /** ours ÷ baseline; whether higher is better depends on the unit (rows/s: yes, seconds: no) */
  ratio: number;
}

export interface ScratchDatabase {
  name: string;
  /** superuser URL of the scratch database */
  url: string;
  drop(): Promise<void>;
}

export interface BenchContext {
  /** superuser URL of the Postgres to measure on (the local stack's) */
  adminUrl: string;
  /** multiplier on each benchmark's default data size: 0.1 for a smoke run */
  scale: number;
  createScratchDatabase(prefix: string): Promise<ScratchDatabase>;
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  /** one sentence for bench/results.md: what is measured and how the baseline runs */
  description?: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function runAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database next to the admin URL's, dropped (forcibly) when done. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
  await runAdmin(adminUrl, `CREATE DATABASE ${escapeIdentifier(name)}`);
  return {
    name,
    url: databaseUrl(adminUrl, name),
    drop: () => runAdmin(adminUrl, `DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`),
  };
}

/** Seconds since `startedNs` (from `process.hrtime.bigint()`). */
export function elapsedSeconds(startedNs: bigint): number {
  return Number(process.hrtime.bigint() - startedNs) / 1e9;
}

/** One connection for the length of `fn`, closed whatever happens. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
