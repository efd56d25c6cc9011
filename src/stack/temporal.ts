import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { Daemon, runningPid, startDaemon, tailOf, waitFor } from './process';

export function temporalDaemon(home: string): Daemon {
  const root = join(home, 'temporal');
  return { name: 'temporal', pidFile: join(root, 'pid'), logFile: join(root, 'temporal.log') };
}

/** The Temporal CLI dev server with its own persisted state (SQLite file) and the web UI. */
export async function startTemporal(binary: string, home: string, port: number, uiPort: number): Promise<void> {
  const daemon = temporalDaemon(home);
  if (runningPid(daemon) !== undefined) return;
  const root = join(home, 'temporal');
  mkdirSync(root, { recursive: true });
  startDaemon(daemon, binary, [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--db-filename', join(root, 'temporal.db'),
    '--log-level', 'warn',
  ]);
  await waitFor('Temporal dev server', () => temporalHealthy(`127.0.0.1:${port}`), 90_000,
    `See ${daemon.logFile}:\n${tailOf(daemon.logFile)}`);
}

export async function temporalHealthy(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    const response = await connection.healthService.check({});
    return response.status === 1; // SERVING
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
