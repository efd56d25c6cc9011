import { cpus, totalmem } from 'node:os';
import { availableParallelism } from 'node:os';
import { BenchRow } from './bench-context';

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  postgres: string;
  node: string;
}

export function describeMachine(postgresVersion: string): Machine {
  return {
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    postgres: postgresVersion,
    node: process.version,
  };
}

/** Large numbers with separators, small ones with two decimals. */
export function formatNumber(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2);
}

function cells(row: BenchRow): string[] {
  return [
    row.benchmark,
    row.metric,
    `${formatNumber(row.ours)} ${row.unit}`,
    `${formatNumber(row.baseline)} ${row.unit}`,
    row.baselineName,
    `${row.ratio.toFixed(2)}×`,
  ];
}

const HEADER = ['benchmark', 'metric', 'ours', 'baseline', 'baseline is', 'ours ÷ baseline'];

/** A plain-text table for the terminal. */
export function textTable(rows: BenchRow[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(table[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n');
}

/** bench/results.md: the machine, then one table row per result. */
export function markdownReport(rows: BenchRow[], machine: Machine, notes: string[]): string {
  const escapeCell = (c: string) => c.replace(/\|/g, '\\|');
  const tableRow = (r: string[]) => `| ${r.map(escapeCell).join(' | ')} |`;
  return [
    '# Benchmarks',
    '',
    `- date: ${machine.date}`,
    `- machine: ${machine.cpus} CPUs (nproc), ${machine.memoryGiB} GiB memory, ${machine.cpuModel}`,
    `- software: ${machine.postgres}, Node.js ${machine.node}`,
    '',
    tableRow(HEADER),
    tableRow(HEADER.map(() => '---')),
    ...rows.map((r) => tableRow(cells(r))),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}
