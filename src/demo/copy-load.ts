import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, escapeIdentifier } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { COPY_COLUMNS, CopyChunk, RowContext, tableChunks } from './rows';
import { DemoTable, TenantPlan } from './tenant-plan';

/** `COPY table (columns) FROM STDIN` for one demo table, identifiers quoted by the driver. */
export function copyFromStdinSql(table: DemoTable): string {
  const columns = COPY_COLUMNS[table].map(escapeIdentifier).join(', ');
  return `COPY ${escapeIdentifier(table)} (${columns}) FROM STDIN`;
}

/** Yields the chunks' text and reports each chunk's rows as it is taken. */
function* reporting(chunks: Iterable<CopyChunk>, onRows: (rows: number) => void): Generator<string> {
  for (const chunk of chunks) {
    onRows(chunk.rows);
    yield chunk.text;
  }
}

/**
 * Streams one table into Postgres on its own connection. The rows are
 * generated as COPY pulls them (stream backpressure), so memory stays at a few
 * chunks however large the table. Returns the row count the server reports.
 */
export async function copyTable(
  connectionString: string,
  table: DemoTable,
  tenants: TenantPlan[],
  ctx: RowContext,
  onRows: (rows: number) => void,
): Promise<number> {
  const client = new Client({ connectionString, application_name: 'compliance-ops seed' });
  await client.connect();
  try {
    const copy = client.query(copyFrom(copyFromStdinSql(table)));
    await pipeline(Readable.from(reporting(tableChunks(table, tenants, ctx), onRows)), copy);
    return copy.rowCount;
  } finally {
    await client.end();
  }
}

/** Runs `tasks` with at most `limit` in flight; results keep the tasks' order. */
export async function inParallel<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
