import { HASH_BYTES } from './merkle';

/**
 * c2sp.org/tlog-proof@v1: an offline-verifiable inclusion proof for one entry.
 *
 *   c2sp.org/tlog-proof@v1
 *   index <n>
 *   <base64 hash, one per line, from the leaf's sibling up>
 *   <blank line>
 *   <the checkpoint, verbatim>
 *
 * The entry itself (the receipt's JWS) travels beside it, e.g. as
 * `<name>.jws` next to `<name>.tlog-proof`.
 */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export class TlogProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlogProofError';
  }
}

export interface TlogProof {
  index: number;
  inclusion: Buffer[];
  /** the signed checkpoint the proof leads to */
  checkpoint: string;
  /** opaque and unauthenticated by the spec; we write none */
  extra?: Buffer;
}

export function formatTlogProof({ index, inclusion, checkpoint, extra }: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER];
  if (extra) lines.push(`extra ${extra.toString('base64')}`);
  lines.push(`index ${index}`, ...inclusion.map((hash) => hash.toString('base64')));
  return `${lines.join('\n')}\n\n${checkpoint}`;
}

export function parseTlogProof(text: string): TlogProof {
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw new TlogProofError('no blank line between the proof and the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (lines.shift() !== TLOG_PROOF_HEADER) throw new TlogProofError(`the first line is not ${TLOG_PROOF_HEADER}`);
  let extra: Buffer | undefined;
  if (lines[0]?.startsWith('extra ')) extra = Buffer.from(lines.shift()!.slice(6), 'base64');
  const indexLine = /^index (0|[1-9][0-9]*)$/.exec(lines.shift() ?? '');
  if (!indexLine || !Number.isSafeInteger(Number(indexLine[1]))) {
    throw new TlogProofError('the index line is not "index <decimal without leading zeroes>"');
  }
  const inclusion = lines.map((line, i) => {
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== HASH_BYTES || hash.toString('base64') !== line) {
      throw new TlogProofError(`inclusion proof line ${i + 1} is not a ${HASH_BYTES}-byte hash in standard base64`);
    }
    return hash;
  });
  return { index: Number(indexLine[1]), inclusion, checkpoint, ...(extra ? { extra } : {}) };
}
