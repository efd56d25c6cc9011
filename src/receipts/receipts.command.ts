import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config';
import { createPool } from '../db/pool';
import { createKmsClient } from '../kms/kms';
import { createS3Client } from '../s3/s3';
import { exportReceipts } from './receipts-export';
import { ReceiptsService } from './receipts.service';

/** `compliance-ops receipts export --out <folder>`: the audit pack `verify` checks offline. */
export function receiptsCommand(): Command {
  const receipts = new Command('receipts').description('signed receipts and the transparency log');
  receipts
    .command('export')
    .description('write every receipt, its inclusion proof, the checkpoint and the public keys to a folder')
    .requiredOption('--out <folder>', 'where to write (created if missing)')
    .action(async (options: { out: string }) => {
      const config = loadConfig();
      const pool = createPool(config.CATALOG_DATABASE_URL, 2);
      const kms = createKmsClient(config);
      const s3 = createS3Client(config);
      try {
        const folder = resolve(options.out);
        const summary = await exportReceipts(ReceiptsService.fromConfig(config, { pool, kms, s3 }), folder);
        process.stdout.write(`exported ${summary.receipts} receipts (tree size ${summary.treeSize}) to ${folder}\n` +
          `verify with: compliance-ops verify ${folder} --public-key <jwks.json obtained out of band>\n`);
      } finally {
        await pool.end();
        kms.destroy();
        s3.destroy();
      }
    });
  return receipts;
}
