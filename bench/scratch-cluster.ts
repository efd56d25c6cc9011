import { execFile } from 'node:child_process';
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../src/stack/free-port';
import { asServerUser, PG_BIN } from '../src/stack/postgres';

const exec = promisify(execFile);

/**
 * Glossary. A scratch cluster is a PostgreSQL server of the benchmark's own:
 * initdb into a temporary directory, a free port, WAL archived by
 * `archive_command` into `archive/`. Physical PITR restores whole clusters,
 * so measuring it on the shared stack's server would disturb everyone else;
 * here nothing outside the directory is touched. A side instance is a second
 * server started from a copy of a base backup, as a physical restore does.
 */
export interface PgInstance {
  port: number;
  dataDir: string;
  url(database: string, user?: string): string;
  stop(): Promise<void>;
}

/** Runs a PostgreSQL binary as the server's OS user (root may not run the server). */
export async function pgAsServerUser(binary: string, args: string[], options: { maxBuffer?: number } = {}): Promise<string> {
  const [cmd, argv] = asServerUser(binary.includes('/') ? binary : join(PG_BIN, binary), args);
  const { stdout } = await exec(cmd, argv, { maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024 });
  return stdout;
}


/** Settings of the primary: logical decoding for our archiver, archive_command for the physical baseline. */
function primarySettings(dir: string): Record<string, string> {
  return {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    wal_level: 'logical',
    archive_mode: 'on',
    archive_command: `test ! -f ${join(dir, 'archive')}/%f && cp %p ${join(dir, 'archive')}/%f`,
    max_wal_senders: '10',
    max_replication_slots: '10',
    shared_buffers: '256MB',
    max_wal_size: '4GB',
    checkpoint_timeout: '30min',
    logging_collector: 'off',
    log_min_messages: 'warning',
  };
}

/** Root may write into the server's directories, but the server must own what it reads. */
async function serverOwnership(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const id = async (flag: string) => Number((await exec('id', [flag, 'postgres'])).stdout);
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * Settings go to `bench.conf`, included from postgresql.conf: a copy of the
 * data directory (a base backup) carries the include, and a side instance
 * replaces the file with its own settings.
 */
async function writeSettings(dataDir: string, settings: Record<string, string>): Promise<void> {
  const owner = await serverOwnership();
  const file = join(dataDir, 'bench.conf');
  const lines = Object.entries(settings).map(([key, value]) => `${key} = '${value.replace(/'/g, "''")}'`);
  await writeFile(file, `# written by bench/scratch-cluster.ts\n${lines.join('\n')}\n`);
  const conf = join(dataDir, 'postgresql.conf');
  const text = await readFile(conf, 'utf8');
  if (!text.includes("include 'bench.conf'")) await appendFile(conf, "\ninclude 'bench.conf'\n");
  if (owner) await chown(file, owner.uid, owner.gid);
}

export async function startInstance(dataDir: string, port: number, settings: Record<string, string>, logFile: string): Promise<PgInstance> {
  await writeSettings(dataDir, settings);
  await pgAsServerUser('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '600', '-o', `-p ${port}`, 'start']).catch(async (error: Error) => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`${error.message}\n${logFile}:\n${log.split('\n').slice(-15).join('\n')}`);
  });
  return {
    port,
    dataDir,
    url: (database, user = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await pgAsServerUser('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    },
  };
}

export interface ScratchCluster {
  dir: string;
  archiveDir: string;
  primary: PgInstance;
  /** stops every instance started from it and removes the directory */
  destroy(): Promise<void>;
}

export interface ScratchClusterOptions {
  /**
   * Settings of the primary on top of (and overriding) the defaults above,
   * e.g. a tiny `max_slot_wal_keep_size` for a test that must see a slot
   * invalidated. Side instances (startPointInTimeCopy) keep the defaults.
   */
  settings?: Record<string, string>;
}

/** initdb into a fresh temporary directory owned by the server user, then start it. */
export async function createScratchCluster(options: ScratchClusterOptions = {}): Promise<ScratchCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'compliance-ops-bench-pitr-'));
  const owner = await serverOwnership();
  if (owner) await chown(dir, owner.uid, owner.gid);
  const archiveDir = join(dir, 'archive');
  await pgAsServerUser('/bin/mkdir', ['-p', archiveDir]);
  const dataDir = join(dir, 'primary');
  await pgAsServerUser('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
  const primary = await startInstance(dataDir, await freePort(), { ...primarySettings(dir), ...options.settings }, join(dir, 'primary.log'));
  return {
    dir,
    archiveDir,
    primary,
    async destroy() {
      await primary.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What a physical PITR tool does on restore: copy the base backup into a new
 * data directory, ask for recovery to `targetTime` from the WAL archive
 * (recovery_target_time, inclusive, then promote), and start the server.
 * Resolves once recovery has ended and the instance is promoted.
 */
export async function startPointInTimeCopy(cluster: ScratchCluster, baseBackupDir: string, targetTime: string, log: (m: string) => void): Promise<PgInstance> {
  const dataDir = join(cluster.dir, `side-${Date.now()}`);
  const copied = process.hrtime.bigint();
  await pgAsServerUser('/bin/cp', ['-a', baseBackupDir, dataDir]);
  await pgAsServerUser('/usr/bin/touch', [join(dataDir, 'recovery.signal')]);
  log(`    base backup copied in ${(Number(process.hrtime.bigint() - copied) / 1e9).toFixed(1)} s`);
  const instance = await startInstance(dataDir, await freePort(), {
    ...primarySettings(cluster.dir),
    archive_mode: 'off',
    restore_command: `cp ${cluster.archiveDir}/%f %p`,
    // A numeric offset: time zone abbreviations (`Z`, `UTC`) are not loaded yet when the server reads this.
    recovery_target_time: targetTime.replace('T', ' ').replace(/Z$/, '+00'),
    recovery_target_inclusive: 'on',
    recovery_target_action: 'promote',
  }, join(cluster.dir, 'side.log'));
  // pg_ctl returns once the server takes (read-only) connections: recovery may still be replaying.
  const client = new Client({ connectionString: instance.url('postgres') });
  await client.connect();
  try {
    while ((await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0].r) await sleep(20);
  } finally {
    await client.end();
  }
  return instance;
}
