import { Command } from 'commander';
import { runBenchmarks } from '../../bench/run';

export function benchCommand(): Command {
  return new Command('bench')
    .description('run the benchmarks in bench/, each beside the tool a user would use instead (all of them: bench/results.md; some: bench/results/<names>.md)')
    .argument('[names...]', 'only these benchmarks')
    .option('--scale <factor>', 'multiply data sizes (e.g. 0.1 for a quick run)', Number)
    .action(async (names: string[], options: { scale?: number }) => {
      await runBenchmarks(names, { scale: options.scale });
    });
}
