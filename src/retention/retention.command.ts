import { Command } from 'commander';
import { ApiClient } from '../cli/api-client';
import { progressPrinter } from '../cli/progress';
import type { RequestView } from '../requests/request.types';
import type { RetentionPolicy, RetentionRunResult } from './retention.types';

function describeTenants(policy: RetentionPolicy): string {
  if (!policy.tenants) return 'all tenants';
  return 'tiers' in policy.tenants ? `tiers ${policy.tenants.tiers.join(', ')}` : `${policy.tenants.ids.length} tenant(s)`;
}

function printPolicies(policies: Array<RetentionPolicy & { nextRunAt: string }>): void {
  if (policies.length === 0) {
    process.stdout.write('no retention policies (set RETENTION_CONFIG to a policies file)\n');
    return;
  }
  for (const p of policies) {
    const overrides = p.overrides.length > 0 ? `, ${p.overrides.length} override(s)` : '';
    process.stdout.write(`${p.name}: ${p.action.action} ${p.table} rows with ${p.ageColumn} older than ${p.maxAgeDays} days` +
      ` (${describeTenants(p)}${overrides}); schedule "${p.schedule.cron}" ${p.schedule.timeZone}, next ${p.nextRunAt}\n`);
  }
}

function printRun(run: RequestView): void {
  const result = run.result as RetentionRunResult | null;
  if (!result) return;
  const verb = result.dryRun ? 'would go' : 'went';
  process.stdout.write(`retention run ${run.id} (${result.policy}, as of ${result.asOf}): ${result.rows.toLocaleString('en-US')} row(s) ${verb}\n`);
  for (const t of result.tenants) {
    const detail = t.status === 'skipped' || t.status === 'failed' ? `${t.reason}${t.detail ? `: ${t.detail}` : ''}` : `${t.rows ?? 0} row(s)`;
    process.stdout.write(`  ${t.tenantId}  ${t.status.padEnd(8)} ${detail}${t.receiptId ? `  receipt ${t.receiptId}` : ''}\n`);
  }
}

export function retentionCommand(): Command {
  const retention = new Command('retention').description('retention policies: list them, run one now, list runs');

  retention.command('list').description('the configured retention policies')
    .action(async () => {
      const api = await ApiClient.fromEnvironment();
      printPolicies((await api.call<{ items: Array<RetentionPolicy & { nextRunAt: string }> }>('GET', '/v1/retention-policies')).items);
    });

  retention.command('run').description('run a policy now, over every tenant it covers')
    .argument('<policy>', 'policy name')
    .option('--dry-run', 'count per tenant the rows that would go; change nothing')
    .option('--wait', 'wait for the run to finish, showing progress')
    .action(async (policy: string, options: { dryRun?: boolean; wait?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const run = await api.call<RequestView>('POST', `/v1/retention-policies/${encodeURIComponent(policy)}/run`, { dryRun: options.dryRun ?? false });
      if (!options.wait) {
        process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
        return;
      }
      const done = await api.waitFor(run.id, progressPrinter());
      process.stderr.write('\n');
      printRun(done);
      if (done.status !== 'succeeded') {
        process.stderr.write(`retention run ${done.status}${done.error ? `: ${done.error.message}` : ''}\n`);
        process.exitCode = 1;
      }
    });

  retention.command('runs').description('retention runs, newest first')
    .option('--policy <name>', 'only this policy')
    .option('--tenant <id>', 'only runs that list this tenant')
    .action(async (options: { policy?: string; tenant?: string }) => {
      const api = await ApiClient.fromEnvironment();
      const query = new URLSearchParams({ ...(options.policy ? { policy: options.policy } : {}), ...(options.tenant ? { tenantId: options.tenant } : {}) });
      const { items } = await api.call<{ items: RequestView[] }>('GET', `/v1/retention-runs?${query}`);
      process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    });
  return retention;
}
