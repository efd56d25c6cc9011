import { Command } from 'commander';
import { ApiClient } from '../cli/api-client';
import { progressPrinter } from '../cli/progress';
import { submitRequest } from '../cli/submit';
import type { RequestView } from '../requests/request.types';
import { isLsn } from './lsn';
import type { StagingView } from './staging-registry';

/** `--to` takes an LSN as Postgres prints it (0/16B3748) or an ISO 8601 time with an offset. */
function parseTarget(value: string): { lsn: string } | { time: string } {
  if (isLsn(value)) return { lsn: value.toUpperCase() };
  if (/^\d{4}-\d\d-\d\dT/.test(value)) return { time: value };
  throw new Error('--to takes an LSN (e.g. 0/16B3748) or an ISO 8601 time with an offset (e.g. 2026-05-01T12:00:00Z)');
}

function parseMode(value: string): 'staging' | 'in-place' {
  if (value !== 'staging' && value !== 'in-place') throw new Error('--mode is staging or in-place');
  return value;
}

export function restoreCommand(): Command {
  const restore = new Command('restore')
    .description('restore one tenant to a time or an LSN, into a staging schema or in place')
    .argument('<tenant>', 'tenant id')
    // Not a requiredOption: commander checks those of a parent for its subcommands too (`restore list` has no --to).
    .option('--to <time|lsn>', 'the restore point: ISO 8601 time (inclusive) or LSN (required)', parseTarget)
    .option('--mode <mode>', 'staging (inspect, nothing live changes) or in-place (swap the tenant\'s rows)', parseMode, 'staging')
    .option('--wait', 'wait for the restore, showing progress')
    .action(async (tenant: string, options: { to?: { lsn: string } | { time: string }; mode: 'staging' | 'in-place'; wait?: boolean }, command: Command) => {
      if (!options.to) command.error("error: required option '--to <time|lsn>' not specified");
      const submitted = await submitRequest('restore', `/v1/tenants/${encodeURIComponent(tenant)}/restores`,
        { target: options.to, mode: options.mode }, { wait: options.wait });
      if (!submitted) return;
      const { done } = submitted;
      const result = done.result as { schema: string; swapped: boolean; appliedTransactions: number; erasedSubjects: number; rows: Record<string, number> };
      process.stdout.write([
        `restore ${done.id}: ${result.swapped ? 'swapped in place' : `staged in schema ${result.schema} (promote: compliance-ops restore promote ${tenant} ${done.id})`}; ` +
          `${result.appliedTransactions} transactions replayed, ${result.erasedSubjects} erased subjects dropped again`,
        ...Object.entries(result.rows).map(([table, rows]) => `  ${table.padEnd(20)} ${rows}`),
        '',
      ].join('\n'));
    });

  restore.command('list').description("list the tenant's restore staging schemas (newest first)")
    .argument('<tenant>', 'tenant id')
    .action(async (tenant: string) => {
      const api = await ApiClient.fromEnvironment();
      const stagings = await api.call<StagingView[]>('GET', `/v1/tenants/${encodeURIComponent(tenant)}/restores`);
      process.stdout.write(stagings.length === 0 ? 'no restores\n' : `${stagings.map((s) =>
        `${s.restoreId}  ${s.state.padEnd(8)}  ${s.schema}  created ${s.createdAt}  ${s.endedAt ? `${s.state} ${s.endedAt} by ${s.endedBy}` : `expires ${s.expiresAt}`}`).join('\n')}\n`);
    });

  restore.command('promote').description('swap a staged restore in, after inspection')
    .argument('<tenant>', 'tenant id')
    .argument('<restore>', 'the restore id (the id the staging restore printed)')
    .option('--wait', 'wait for the swap, showing progress')
    .action(async (tenant: string, restoreId: string, options: { wait?: boolean }) => {
      const submitted = await submitRequest('promote', `/v1/tenants/${encodeURIComponent(tenant)}/restores/${encodeURIComponent(restoreId)}/promote`, undefined, { wait: options.wait });
      if (!submitted) return;
      const result = submitted.done.result as { schema: string; erasedSubjects: number; rows: Record<string, number> };
      process.stdout.write([
        `restore ${restoreId} promoted: the tenant's rows are now those of ${result.schema} (dropped); ${result.erasedSubjects} erased subjects dropped again`,
        ...Object.entries(result.rows).map(([table, rows]) => `  ${table.padEnd(20)} ${rows}`),
        '',
      ].join('\n'));
    });

  restore.command('drop').description("drop a staging restore's schema now")
    .argument('<tenant>', 'tenant id')
    .argument('<restore>', 'the restore id')
    .action(async (tenant: string, restoreId: string) => {
      const api = await ApiClient.fromEnvironment();
      const staging = await api.call<StagingView>('DELETE', `/v1/tenants/${encodeURIComponent(tenant)}/restores/${encodeURIComponent(restoreId)}`);
      process.stdout.write(`restore ${staging.restoreId}: ${staging.schema} ${staging.state}\n`);
    });

  restore.command('snapshot').description('take a snapshot of a tenant for later restores')
    .argument('<tenant>', 'tenant id')
    .option('--wait', 'wait for the snapshot')
    .action(async (tenant: string, options: { wait?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const request = await api.call<RequestView>('POST', `/v1/tenants/${encodeURIComponent(tenant)}/snapshots`, {});
      const done = options.wait ? await api.waitFor(request.id, progressPrinter()) : request;
      process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
      if (options.wait && done.status !== 'succeeded') process.exitCode = 1;
    });
  return restore;
}
