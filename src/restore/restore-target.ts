import { badInput } from '../errors';
import { isLsn, parseLsn } from './lsn';
import { ArchivedTransaction } from './wal.types';

/**
 * Where a restore goes. Semantics follow Postgres's recovery targets:
 * - `{lsn}`: every transaction whose commit record starts before the LSN
 *   (so an LSN read with pg_current_wal_lsn() right after a commit includes it);
 * - `{time}`: inclusive, transactions in commit order up to the first one
 *   that committed after the time (a prefix, never "all commits ≤ T": commit
 *   times are not monotonic in WAL order).
 */
export type RestoreTarget = { time: string } | { lsn: string };

export interface ResolvedTarget {
  target: RestoreTarget;
  /** does this transaction belong before the target? */
  includes(tx: ArchivedTransaction): boolean;
  describe: string;
}

export function resolveTarget(target: RestoreTarget): ResolvedTarget {
  if ('lsn' in target && typeof target.lsn === 'string') {
    if (!isLsn(target.lsn)) throw badInput('invalid_restore_target', `"${target.lsn}" is not an LSN; write it as Postgres prints it, e.g. 0/16B3748.`);
    const lsn = parseLsn(target.lsn);
    return { target, includes: (tx) => parseLsn(tx.commitLsn) < lsn, describe: `LSN ${target.lsn}` };
  }
  if ('time' in target && typeof target.time === 'string') {
    const micros = timeToMicros(target.time);
    return { target, includes: (tx) => BigInt(tx.commitMicros) <= micros, describe: `time ${target.time}` };
  }
  throw badInput('invalid_restore_target', 'The target is {"time": "<ISO 8601 with offset>"} or {"lsn": "<e.g. 0/16B3748>"}.');
}

/** ISO 8601 with an explicit offset, to the microsecond (a JS Date keeps milliseconds only). */
export function timeToMicros(text: string): bigint {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:?\d\d)$/i.exec(text.trim());
  const ms = match ? Date.parse(`${match[1]}${match[3]}`) : NaN;
  if (!match || Number.isNaN(ms)) {
    throw badInput('invalid_restore_target', `"${text}" is not a time; use ISO 8601 with an offset, e.g. 2026-05-01T12:00:00.123456Z.`);
  }
  return BigInt(ms) * 1000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}
