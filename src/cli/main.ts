import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { apiKeyCommand } from '../auth/api-key.command';
import { ConfigError } from '../config';
import { stackCommand } from '../stack/stack.command';
import { datamapCommand } from '../datamap/datamap.command';
import { seedCommand } from '../demo/seed.command';
import { decryptCommand } from '../export/decrypt.command';
import { eraseCommand } from '../erasure/erase.command';
import { exportCommand } from '../export/export.command';
import { receiptsCommand } from '../receipts/receipts.command';
import { archiverCommand } from '../restore/archiver.command';
import { restoreCommand } from '../restore/restore.command';
import { retentionCommand } from '../retention/retention.command';
import { verifyCommand } from '../receipts/verify/verify.command';
import { benchCommand } from './bench.command';
import { runCommands } from './run.commands';
import { tokenCommand } from './token.command';

const program = new Command('compliance-ops')
  .description('Compliance operations for a multi-tenant PostgreSQL SaaS')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(stackCommand());
for (const command of runCommands()) program.addCommand(command);
program.addCommand(tokenCommand());
program.addCommand(apiKeyCommand());
program.addCommand(seedCommand());
program.addCommand(datamapCommand());
program.addCommand(exportCommand());
program.addCommand(decryptCommand());
program.addCommand(eraseCommand());
program.addCommand(verifyCommand());
program.addCommand(receiptsCommand());
program.addCommand(retentionCommand());
program.addCommand(restoreCommand());
program.addCommand(archiverCommand());
program.addCommand(benchCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
    return;
  }
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`compliance-ops: ${message}\n`);
  // A failed start may leave pools and servers open: they must not keep a failed command alive.
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 2);
});
