import { Command } from 'commander';
import { RESULTS_FILE, runBenchmarks } from '../../bench/run';

export function benchCommand(): Command {
  return new Command('bench')
    .description('run the benchmarks in bench/, each beside the tool a user would use instead')
    .argument('[names...]', 'only these benchmarks')
    .option('--scale <factor>', 'multiply data sizes (e.g. 0.1 for a quick run)', Number)
    .action(async (names: string[], options: { scale?: number }) => {
      await runBenchmarks(names, { scale: options.scale });
      process.stderr.write(`results written to ${RESULTS_FILE}\n`);
    });
}
