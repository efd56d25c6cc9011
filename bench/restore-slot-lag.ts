import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { runArchiverActivity } from '../src/restore/archiver-activity';
import { WalArchiver } from '../src/restore/archiver';
import { parseLsn } from '../src/restore/lsn';
import { PG_BIN } from '../src/stack/postgres';
import { runSteadyLoad, WorkloadTenant } from './restore-workload';

export const PG_RECVLOGICAL = join(PG_BIN, 'pg_recvlogical');
/** The production pause between drains (walArchiverWorkflow's default). */
const ARCHIVER_INTERVAL_SECONDS = 5;
const SAMPLE_MS = 250;

/** pg_recvlogical decoding `slot` (pgoutput, our publication) into /dev/null; `endLsn` makes it stop there. */
export function startRecvLogical(url: string, slot: string, publication: string, endLsn?: string): ChildProcess {
  const args = ['-d', url, '--slot', slot, '--start', '--no-loop', '-o', 'proto_version=1', '-o', `publication_names=${publication}`, '-f', '/dev/null'];
  if (endLsn) args.push('--endpos', endLsn);
  return spawn(PG_RECVLOGICAL, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function exited(child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => (code === 0 || signal === 'SIGINT' ? resolve() : reject(new Error(`pg_recvlogical exited ${code ?? signal}: ${stderr.trim()}`))));
  });
}

export interface LagSamples {
  /** bytes of WAL written since each slot's confirmed flush LSN, sampled every 250 ms */
  ours: number[];
  recvlogical: number[];
  transactions: number;
}

/**
 * Slot lag under a steady write load: `txPerSecond` for `seconds`, while our
 * archiver runs its production loop (drain, then pause 5 s) on its slot and
 * pg_recvlogical streams the same changes from a second slot (default status
 * interval, 10 s). Both slots start caught up.
 */
export async function sampleSlotLag(input: {
  adminUrl: string; archiver: WalArchiver; recvSlot: string; publication: string;
  tenants: WorkloadTenant[]; txPerSecond: number; seconds: number;
}): Promise<LagSamples> {
  const samples: LagSamples = { ours: [], recvlogical: [], transactions: 0 };
  const stop = new AbortController();
  const recv = startRecvLogical(input.adminUrl, input.recvSlot, input.publication);
  const recvDone = exited(recv);
  const sampler = new Client({ connectionString: input.adminUrl });
  await sampler.connect();
  try {
    const archiving = runArchiverActivity(input.archiver, { intervalSeconds: ARCHIVER_INTERVAL_SECONDS, maxSeconds: input.seconds }, undefined);
    const loading = runSteadyLoad(input.adminUrl, input.tenants, input.txPerSecond, stop.signal);
    const deadline = Date.now() + input.seconds * 1000;
    while (Date.now() < deadline) {
      const { rows } = await sampler.query<{ slot_name: string; lag: string }>(
        `SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = ANY ($1)`,
        [[input.archiver.names.slot, input.recvSlot]]);
      for (const r of rows) (r.slot_name === input.recvSlot ? samples.recvlogical : samples.ours).push(Number(r.lag));
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    stop.abort();
    samples.transactions = await loading;
    await archiving;
  } finally {
    stop.abort();
    recv.kill('SIGINT');
    await recvDone.catch(() => undefined);
    await sampler.end();
  }
  return samples;
}

/**
 * The production archiver loop (drain, pause 5 s) on our slot, as a worker
 * runs it, until stopped. `caughtUp` resolves once it has archived past an
 * LSN (it gets there on its own schedule: nothing else drains meanwhile).
 */
export function startSteadyArchiver(archiver: WalArchiver): { caughtUp(lsn: string): Promise<void>; stop(): Promise<void> } {
  const stop = new AbortController();
  let failed: unknown;
  const running = runArchiverActivity(archiver, { intervalSeconds: ARCHIVER_INTERVAL_SECONDS, maxSeconds: 24 * 3600 },
    { info: {}, heartbeat: () => undefined, cancellationSignal: stop.signal }).then(() => undefined, (error: unknown) => {
    failed = error;
  });
  return {
    async caughtUp(lsn) {
      while (parseLsn(await archiver.archivedLsn()) < parseLsn(lsn)) {
        if (failed) throw failed;
        await sleep(100);
      }
    },
    async stop() {
      stop.abort();
      await running;
      if (failed) throw failed;
    },
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
