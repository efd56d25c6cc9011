import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../src/config';

const CLI = join(PROJECT_ROOT, 'bin', 'compliance-ops.js');
const COMPILED_CLI = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
/** Enough of the child's output to explain a failure, not the whole log. */
const OUTPUT_TAIL_CHARS = 8_000;

export interface WorkerProcess {
  pid: number;
  /** the child's latest stdout and stderr, for failure messages */
  output(): string;
  /** resolves with how the child ended */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown, no cleanup, no last heartbeat; like a machine going away */
  crash(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait: the worker drains as in production */
  stop(): Promise<void>;
}

/**
 * `compliance-ops worker` as a separate process, as it runs in production, so
 * a test can kill it without killing itself. It reads the same environment as
 * the test (DATABASE_URL, CATALOG_DATABASE_URL, DATAMAP_CONFIG,
 * TEMPORAL_TASK_QUEUE set by startTestService). It runs the compiled CLI,
 * which `npm test` builds first.
 */
export function startWorkerProcess(env: NodeJS.ProcessEnv = process.env): WorkerProcess {
  if (!existsSync(COMPILED_CLI)) {
    throw new Error(`${COMPILED_CLI} is missing: build first with \`npx tsc -p tsconfig.build.json\` (npm test does).`);
  }
  const child: ChildProcess = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (data: Buffer) => {
    output = (output + data.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    async crash() {
      if (running()) child.kill('SIGKILL');
      return exited;
    },
    async stop() {
      if (running()) child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls until `check` returns a value; says what it waited for, and the last worker's output, on timeout. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, workers: WorkerProcess[] = [], pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(pollMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; worker output:\n${workers.at(-1)?.output()}`);
}
