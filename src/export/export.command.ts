import { Command, Option } from 'commander';
import { submitRequest } from '../cli/submit';
import { parseSubject } from '../cli/options';

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
      const submitted = await submitRequest('export', `/v1/tenants/${encodeURIComponent(tenant)}/exports`,
        { subject: options.subject, format: options.format, tables: options.tables },
        { wait: options.wait, headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {} });
      if (!submitted) return;
      const { api, done } = submitted;
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
