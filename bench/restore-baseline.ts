import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { escapeLiteral } from 'pg';
import { DEMO_TABLES } from '../src/demo/tenant-plan';
import { PG_BIN } from '../src/stack/postgres';
import { elapsedSeconds } from './bench-context';
import { ScratchCluster, startPointInTimeCopy } from './scratch-cluster';

const exec = promisify(execFile);
const PSQL = process.env.PSQL ?? join(PG_BIN, 'psql');

const tenantColumn = (table: string) => (table === 'tenants' ? 'id' : 'tenant_id');

async function psql(url: string, args: string[]): Promise<void> {
  await exec(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

export interface BaselineTiming {
  seconds: number;
  /** the physical restore: copy the base backup, replay WAL to the target, promote */
  recoverySeconds: number;
  copyOutSeconds: number;
  copyInSeconds: number;
}

/**
 * The alternative a user has today, as the pgBackRest and Barman maintainers
 * advise (restore elsewhere, then take the part you need): a whole-cluster
 * PITR to a side instance (base backup copied into a new data directory,
 * restore_command from the WAL archive, recovery_target_time = target,
 * promote), then the tenant's rows copied out of it with `psql \copy … TO`
 * and into the primary in one transaction (`psql -1`: delete the tenant's
 * current rows, children first, then `\copy … FROM`, parents first).
 */
export async function physicalPitrThenCopyBack(
  cluster: ScratchCluster,
  input: { baseBackupDir: string; targetTime: string; tenantId: string; database: string },
  log: (message: string) => void,
): Promise<BaselineTiming> {
  const started = process.hrtime.bigint();
  const side = await startPointInTimeCopy(cluster, input.baseBackupDir, input.targetTime, log);
  try {
    const recoverySeconds = elapsedSeconds(started);
    const copyStarted = process.hrtime.bigint();
    const file = (table: string) => join(cluster.dir, `tenant-${table}.csv`);
    const literal = escapeLiteral(input.tenantId);
    for (const table of DEMO_TABLES) {
      await psql(side.url(input.database), ['-c', `\\copy (SELECT * FROM ${table} WHERE ${tenantColumn(table)} = ${literal}) TO '${file(table)}' WITH (FORMAT csv)`]);
    }
    const copyOutSeconds = elapsedSeconds(copyStarted);

    const copyInStarted = process.hrtime.bigint();
    const script = join(cluster.dir, 'copy-back.sql');
    await writeFile(script, [
      ...[...DEMO_TABLES].reverse().map((table) => `DELETE FROM ${table} WHERE ${tenantColumn(table)} = ${literal};`),
      ...DEMO_TABLES.map((table) => `\\copy ${table} FROM '${file(table)}' WITH (FORMAT csv)`),
      '',
    ].join('\n'));
    await psql(cluster.primary.url(input.database), ['-1', '-f', script]);
    const copyInSeconds = elapsedSeconds(copyInStarted);
    return { seconds: elapsedSeconds(started), recoverySeconds, copyOutSeconds, copyInSeconds };
  } finally {
    await side.stop();
  }
}
