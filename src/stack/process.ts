import { spawn, SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A background process that `stack up` started, remembered by its pid file. */
export interface Daemon {
  name: string;
  pidFile: string;
  logFile: string;
}

export function readPid(daemon: Daemon): number | undefined {
  if (!existsSync(daemon.pidFile)) return undefined;
  const pid = Number(readFileSync(daemon.pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of our own running copy, or undefined (a stale pid file is removed). */
export function runningPid(daemon: Daemon): number | undefined {
  const pid = readPid(daemon);
  if (pid !== undefined && isAlive(pid)) return pid;
  if (pid !== undefined) rmSync(daemon.pidFile, { force: true });
  return undefined;
}

/** Starts a detached process whose output goes to its log file; it outlives this CLI. */
export function startDaemon(daemon: Daemon, command: string, args: string[], options: SpawnOptions = {}): number {
  mkdirSync(dirname(daemon.logFile), { recursive: true });
  const log = openSync(daemon.logFile, 'a');
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${daemon.name} (${command})`);
  child.unref();
  writeFileSync(daemon.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM, then SIGKILL after `graceMs`; only ever the pid we recorded. */
export async function stopDaemon(daemon: Daemon, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(daemon);
  if (pid === undefined) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signal(pid, 'SIGKILL');
  rmSync(daemon.pidFile, { force: true });
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // The daemon leads its own process group (detached): signal the whole group.
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it holds or `timeoutMs` passes; the error says what was awaited. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, hint = ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s${cause}.${hint ? ` ${hint}` : ''}`);
}

export function tailOf(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
