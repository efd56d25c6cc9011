import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { CATALOG_DATABASE, DEMO_DATABASE, LOCAL_PG_SERVICE_ROLE, LocalEndpoints } from './endpoints';
import { Daemon, runningPid, startDaemon, tailOf, waitFor } from './process';

const PG_MAJOR = 15;
export const PG_BIN = `/usr/lib/postgresql/${PG_MAJOR}/bin`;

/**
 * Settings that make logical decoding and the restore path work: logical WAL,
 * room for our slots, a cap on retained WAL so a stuck slot cannot fill the disk.
 */
const SETTINGS = {
  listen_addresses: "'127.0.0.1'",
  wal_level: 'logical',
  max_replication_slots: '20',
  max_wal_senders: '20',
  max_slot_wal_keep_size: "'4GB'",
  wal_keep_size: "'256MB'",
  shared_buffers: "'256MB'",
  max_connections: '200',
  logging_collector: 'off',
  log_min_messages: 'warning',
};

export function postgresPaths(home: string) {
  const root = join(home, 'postgres');
  return { root, data: join(root, 'data'), socketDir: join(root, 'run') };
}

export function postgresDaemon(home: string): Daemon {
  const { root } = postgresPaths(home);
  return { name: 'postgres', pidFile: join(root, 'postmaster.pid.ours'), logFile: join(root, 'postgres.log') };
}

/** Postgres refuses to run as root; as root we run it as the Debian `postgres` user. */
export function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

export function ensurePostgresInstalled(log: (line: string) => void): void {
  if (existsSync(join(PG_BIN, 'postgres'))) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`PostgreSQL ${PG_MAJOR} is missing. Install it with: sudo apt-get install -y postgresql-${PG_MAJOR}`);
  }
  log(`installing postgresql-${PG_MAJOR} from Debian packages`);
  execFileSync('apt-get', ['update'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', `postgresql-${PG_MAJOR}`], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function initCluster(home: string, port: number, log: (line: string) => void): void {
  const paths = postgresPaths(home);
  if (existsSync(join(paths.data, 'PG_VERSION'))) return;
  log('initialising a PostgreSQL cluster in ' + paths.data);
  mkdirSync(paths.data, { recursive: true });
  mkdirSync(paths.socketDir, { recursive: true });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const dir of [paths.root, paths.data, paths.socketDir]) chownSync(dir, uid, gid);
  }
  const [cmd, args] = asServerUser(join(PG_BIN, 'initdb'), [
    '-D', paths.data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8',
  ]);
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`initdb failed:\n${result.stderr}`);
  const conf = Object.entries({ ...SETTINGS, port: String(port), unix_socket_directories: `'${paths.socketDir}'` })
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n');
  writeFileSync(join(paths.data, 'compliance-ops.conf'), `# written by compliance-ops stack up\n${conf}\n`);
  execFileSync('sh', ['-c', `echo "include 'compliance-ops.conf'" >> '${join(paths.data, 'postgresql.conf')}'`]);
}

export async function startPostgres(home: string, port: number, log: (line: string) => void): Promise<void> {
  ensurePostgresInstalled(log);
  initCluster(home, port, log);
  const daemon = postgresDaemon(home);
  if (runningPid(daemon) !== undefined) return;
  const [cmd, args] = asServerUser(join(PG_BIN, 'postgres'), ['-D', postgresPaths(home).data, '-p', String(port)]);
  startDaemon(daemon, cmd, args);
  await waitFor('PostgreSQL', () => postgresHealthy(`postgres://postgres@127.0.0.1:${port}/postgres`), 60_000,
    `See ${daemon.logFile}:\n${tailOf(daemon.logFile)}`);
}

export async function postgresHealthy(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The service role (no superuser, so RLS applies to it) and the two databases. */
export async function preparePostgres(endpoints: LocalEndpoints): Promise<void> {
  const admin = new Client({ connectionString: endpoints.adminUrl });
  await admin.connect();
  try {
    const role = escapeIdentifier(LOCAL_PG_SERVICE_ROLE);
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [LOCAL_PG_SERVICE_ROLE]);
    if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${role} LOGIN REPLICATION`);
    for (const [db, owner] of [[CATALOG_DATABASE, LOCAL_PG_SERVICE_ROLE], [DEMO_DATABASE, 'postgres']] as const) {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${escapeIdentifier(db)} OWNER ${escapeIdentifier(owner)}`);
    }
    // Restores build their staging schemas in the application database.
    await admin.query(`GRANT CREATE ON DATABASE ${escapeIdentifier(DEMO_DATABASE)} TO ${role}`);
  } finally {
    await admin.end();
  }
}
