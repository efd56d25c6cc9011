import { Command } from 'commander';
import { stackDown, stackStatus, stackUp } from './stack';

const say = (line: string) => process.stderr.write(`${line}\n`);

export function stackCommand(): Command {
  const stack = new Command('stack').description('the local stack: PostgreSQL, Temporal, MinIO, local-kms');

  stack.command('up').description('start every component (idempotent) and wait until healthy').action(async () => {
    const started = Date.now();
    const e = await stackUp(say);
    say(`stack is up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(`  postgres  ${e.demoUrl}`);
    say(`  temporal  ${e.temporalAddress}  (UI ${e.temporalUi})`);
    say(`  s3        ${e.s3Endpoint}  (console ${e.s3Console})`);
    say(`  kms       ${e.kmsEndpoint}`);
  });

  stack.command('down').description('stop the processes that `stack up` started').action(async () => {
    await stackDown(say);
  });

  stack.command('status').description('health of every endpoint').option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const status = await stackStatus();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      } else {
        for (const [name, s] of Object.entries(status)) {
          process.stdout.write(`${name.padEnd(9)} ${s.healthy ? 'healthy  ' : 'down     '} ${s.url}\n`);
        }
      }
      const core = ['postgres', 'temporal', 's3', 'kms'] as const;
      process.exitCode = core.every((name) => status[name].healthy) ? 0 : 1;
    });
  return stack;
}
