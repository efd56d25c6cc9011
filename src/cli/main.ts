import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config';
import { stackCommand } from '../stack/stack.command';

const program = new Command('compliance-ops')
  .description('Compliance operations for a multi-tenant PostgreSQL SaaS')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(stackCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
    return;
  }
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`compliance-ops: ${message}\n`);
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 2;
});
