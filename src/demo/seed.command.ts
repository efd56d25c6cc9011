import { Command, InvalidArgumentError } from 'commander';
import { localEndpoints } from '../stack/endpoints';
import { DEFAULT_DEMO, seedDemo, SeedProgress, SeedResult } from './generator';
import { DEFAULT_WHALE_SHARE } from './tenant-plan';

function integerAtLeast(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got ${value}`);
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a number between 0 and 1, got ${value}`);
  return n;
}

/** One progress line, redrawn in place on a terminal, a line per tenth otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): (p: SeedProgress) => void {
  let lastTenth = -1;
  let lastDrawMs = 0;
  return (p) => {
    const percent = Math.floor((100 * p.loadedRows) / p.totalRows);
    const line = `seeding: ${p.loadedRows.toLocaleString('en')} / ${p.totalRows.toLocaleString('en')} rows (${percent}%), ${p.table}`;
    if (stream.isTTY) {
      if (Date.now() - lastDrawMs < 100 && p.loadedRows < p.totalRows) return;
      lastDrawMs = Date.now();
      stream.write(`\r${line}\u001b[K`);
    } else if (Math.floor(percent / 10) > lastTenth) {
      lastTenth = Math.floor(percent / 10);
      stream.write(`${line}\n`);
    }
  };
}

export function formatSeedSummary(result: SeedResult): string {
  const rate = Math.round(result.totalRows / result.seconds).toLocaleString('en');
  const lines = [
    `seeded ${result.totalRows.toLocaleString('en')} rows in ${result.seconds.toFixed(1)} s (${rate} rows/s)`,
    '',
    ...Object.entries(result.rowsByTable).map(([table, rows]) => `  ${table.padEnd(14)} ${rows.toLocaleString('en').padStart(12)}`),
    '',
    '  tenant                                tier        rows   share  name',
  ];
  for (const t of result.tenants) {
    const share = `${((100 * t.rows) / result.totalRows).toFixed(1)}%`;
    lines.push(`  ${t.id}  ${t.tier.padEnd(10)} ${String(t.rows).padStart(8)} ${share.padStart(7)}  ${t.name}`);
  }
  return lines.join('\n');
}

/** `compliance-ops seed`: loads the demo application's tenants. */
export function seedCommand(): Command {
  return new Command('seed')
    .description('load deterministic demo tenants into the demo application database (COPY)')
    .option('--seed <n>', 'random seed: the same seed gives the same data', integerAtLeast(0), DEFAULT_DEMO.seed)
    .option('--tenants <n>', 'number of tenants', integerAtLeast(1), DEFAULT_DEMO.tenants)
    .option('--rows-per-tenant <n>', 'average rows per tenant', integerAtLeast(1), DEFAULT_DEMO.rowsPerTenant)
    .option('--whale-share <f>', 'share of all rows held by tenant #0', fraction, DEFAULT_WHALE_SHARE)
    .option('--database-url <url>', 'superuser URL of the demo database (default: the local stack)')
    .option('--reset', 'drop and recreate the demo tables first', false)
    .action(async (opts: { seed: number; tenants: number; rowsPerTenant: number; whaleShare: number; databaseUrl?: string; reset: boolean }) => {
      const url = opts.databaseUrl ?? localEndpoints().demoAdminUrl;
      const result = await seedDemo(url, { ...opts, onProgress: progressPrinter(process.stderr) });
      if (process.stderr.isTTY) process.stderr.write('\n');
      process.stdout.write(`${formatSeedSummary(result)}\n`);
    });
}
