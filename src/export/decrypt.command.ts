import { Command } from 'commander';
import { loadConfig } from '../config';
import { createKmsClient } from '../kms/kms';
import { createS3Client } from '../s3/s3';
import { decryptExport, DecryptSummary } from './decrypt';

/**
 * `compliance-ops decrypt <s3://bucket/prefix | dir> --out <dir>`: decrypts an
 * export, checks every digest, row count and the manifest signature, and
 * prints what it wrote. Exit status 1 when any check fails, with the reason.
 */
export function decryptCommand(): Command {
  return new Command('decrypt')
    .description('Decrypt an export into files and verify its signed manifest')
    .argument('<source>', 'the export: s3://bucket/tenants/<tenant>/exports/<request>/ or a local copy of that folder')
    .requiredOption('--out <dir>', 'directory to write schema.json, manifest.json and tables/ into')
    .option('--tenant <id>', 'refuse the export unless it is this tenant’s')
    .option('--request <id>', 'refuse the export unless it is this request’s')
    .option('--json', 'print the summary as JSON')
    .action(async (source: string, options: { out: string; tenant?: string; request?: string; json?: boolean }) => {
      const config = loadConfig();
      const s3 = createS3Client(config);
      const kms = createKmsClient(config);
      try {
        const summary = await decryptExport(source, options.out, { config, s3, kms }, { tenantId: options.tenant, requestId: options.request });
        process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary, options.out));
      } catch (error) {
        process.stderr.write(`decrypt failed: ${(error as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        s3.destroy();
        kms.destroy();
      }
    });
}

function formatSummary(summary: DecryptSummary, out: string): string {
  const scope = summary.scope.kind === 'tenant' ? 'whole tenant' : `one subject (by ${summary.scope.column})`;
  const width = Math.max(...summary.files.map((f) => f.path.length));
  const lines = summary.files.map((f) => `  ${f.path.padEnd(width)}  ${f.rows === null ? '' : `${f.rows} row${f.rows === 1 ? '' : 's'}, `}${f.bytes} bytes`);
  return [
    `Export ${summary.requestId} of tenant ${summary.tenantId} (${scope}), snapshot ${summary.snapshotTakenAt.join(', ')}`,
    `Signature: valid (${summary.signedBy})${summary.consistent ? '' : '; tables were read at more than one snapshot (resumed export)'}`,
    `All checksums and row counts verified. Files in ${out}:`,
    ...lines,
    '',
  ].join('\n');
}
