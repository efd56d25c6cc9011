import { Transform } from 'node:stream';
import { ExportVerificationError } from './read-manifest';

/** A pass-through that lets hashes and counters see every buffer on its way. */
export function tap(fn: (data: Buffer) => void): Transform {
  return new Transform({
    transform(data: Buffer, _encoding, callback) {
      fn(data);
      callback(null, data);
    },
  });
}

/** Fails verification of `object` with `message` unless `ok`. */
export function check(object: string, ok: boolean, message: string): void {
  if (!ok) throw new ExportVerificationError(object, message);
}
