import { Command } from 'commander';
import { ApiClient } from '../cli/api-client';
import { submitRequest } from '../cli/submit';
import { parseSubject } from '../cli/options';
import type { RequestView } from '../requests/request.types';

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error('--grace takes a whole number of seconds ≥ 0');
  return seconds;
}

export function eraseCommand(): Command {
  const erase = new Command('erase')
    .description('erase a tenant, or one data subject inside it, and issue a signed receipt')
    .argument('<tenant>', 'tenant id')
    .requiredOption('--reason <text>', 'why (recorded in the receipt)')
    .option('--subject <column=value>', 'only this data subject', parseSubject)
    .option('--grace <seconds>', 'grace period during which the erasure can be cancelled', parseSeconds, 0)
    .option('--wait', 'wait for the receipt, showing progress')
    .action(async (tenant: string, options: { reason: string; subject?: { column: string; value: string }; grace: number; wait?: boolean }) => {
      const submitted = await submitRequest('erasure', `/v1/tenants/${encodeURIComponent(tenant)}/erasures`,
        { subject: options.subject, graceSeconds: options.grace, reason: options.reason }, { wait: options.wait });
      if (!submitted) return;
      const { done } = submitted;
      const result = done.result as { rows: number; tables: Array<{ table: string; action: string; rows: number }> };
      process.stdout.write([
        `erasure ${done.id}: ${result.rows.toLocaleString('en-US')} rows erased, receipt ${done.receiptId}`,
        ...result.tables.map((t) => `  ${t.table.padEnd(20)} ${t.action.padEnd(10)} ${t.rows}`),
        `fetch the receipt: GET /v1/receipts/${done.receiptId}; check it: compliance-ops verify <receipt.jws> --public-key <jwks>`,
        '',
      ].join('\n'));
    });

  erase.command('cancel').description('cancel an erasure during its grace period or legal hold')
    .argument('<request-id>')
    .action(async (id: string) => {
      const api = await ApiClient.fromEnvironment();
      const request = await api.call<RequestView>('POST', `/v1/erasures/${encodeURIComponent(id)}/cancel`);
      process.stdout.write(`cancelling erasure ${request.id} (was ${request.status})\n`);
    });
  return erase;
}
