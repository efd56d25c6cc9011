import { Command, Option } from 'commander';
import { ApiClient } from '../cli/api-client';
import { parseSubject } from '../cli/options';
import { progressPrinter } from '../cli/progress';
import type { RequestView } from '../requests/request.types';

export function exportCommand(): Command {
  return new Command('export')
    .description("export one tenant's data (or one data subject's) to KMS-encrypted S3")
    .argument('<tenant>', 'tenant id')
    .option('--subject <column=value>', 'only this data subject', parseSubject)
    .addOption(new Option('--format <format>', 'file format').choices(['csv', 'jsonl']).default('csv'))
    .option('--tables <names>', 'comma-separated subset of tables', (v: string) => v.split(',').map((t) => t.trim()).filter(Boolean))
    .option('--idempotency-key <key>', 'retrying with the same key returns the first request')
    .option('--wait', 'wait for the export, showing progress, then print the download URLs')
    .action(async (tenant: string, options: { subject?: { column: string; value: string }; format: string; tables?: string[];
      idempotencyKey?: string; wait?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const request = await api.call<RequestView>('POST', `/v1/tenants/${encodeURIComponent(tenant)}/exports`,
        { subject: options.subject, format: options.format, tables: options.tables },
        options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {});
      if (!options.wait) {
        process.stdout.write(`${JSON.stringify(request, null, 2)}\n`);
        return;
      }
      const done = await api.waitFor(request.id, progressPrinter());
      process.stderr.write('\n');
      if (done.status !== 'succeeded') {
        process.stderr.write(`export ${done.status}: ${done.error?.message ?? ''}\n`);
        process.exitCode = 1;
        return;
      }
      const result = done.result as { bucket: string; prefix: string; rows: number; bytes: number; files: number };
      const download = await api.call<{ url: string; expiresAt: string }>('GET', `/v1/exports/${done.id}/download`);
      process.stdout.write([
        `export ${done.id}: ${result.rows.toLocaleString('en-US')} rows in ${result.files} files, ` +
          `${(result.bytes / 1e6).toFixed(1)} MB before compression and encryption`,
        `  objects:  s3://${result.bucket}/${result.prefix}`,
        `  manifest: ${download.url}`,
        `  (links expire ${download.expiresAt})`,
        `decrypt with: compliance-ops decrypt s3://${result.bucket}/${result.prefix} --out ./export-${done.id.slice(0, 8)}`,
        '',
      ].join('\n'));
    });
}
