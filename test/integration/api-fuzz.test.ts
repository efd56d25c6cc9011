import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config';

/**
 * The whole API fuzzed from its own OpenAPI document by schemathesis
 * (scripts/fuzz-api.sh: scratch databases, its own API, an operator token):
 * no 5xx, and every response matches the schema the document declares.
 * About a minute; the first run also installs schemathesis into the tool cache.
 */
describe('fuzzing the API from its OpenAPI document', () => {
  it('finds no server error and no response that breaks the document', () => {
    const run = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'fuzz-api.sh')], {
      encoding: 'utf8',
      env: { ...process.env, FUZZ_MAX_EXAMPLES: process.env.FUZZ_MAX_EXAMPLES ?? '20', LOG_LEVEL: 'warn' },
      timeout: 540_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    const summary = /fuzz-api: (\d+) cases run; failed checks: (\{.*\}); schemathesis errors: (\d+)/.exec(output);
    expect(summary, output.slice(-6000)).not.toBeNull();
    // The number a reader of the CI log wants to see.
    process.stdout.write(`${summary![0]}\n`);
    expect(Number(summary![1])).toBeGreaterThan(500);
    expect(JSON.parse(summary![2]), output.slice(-6000)).toEqual({});
    expect(Number(summary![3]), output.slice(-6000)).toBe(0);
    expect(run.status, output.slice(-6000)).toBe(0);
  }, 600_000);
});
