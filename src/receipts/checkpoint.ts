import { EcdsaSigner } from '../kms/ecdsa';
import { HASH_BYTES } from './merkle';
import { signNote, SignedNoteError, TrustedNoteKey, verifyNote } from './signed-note';

/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note whose text is
 * `<origin>\n<tree size>\n<base64 root hash>\n`. The log's key name is its
 * origin. We write no extension lines (the spec advises against them).
 */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

export interface SignedCheckpoint extends Checkpoint {
  /** the signed note, verbatim */
  note: string;
}

export function checkpointText({ origin, size, rootHash }: Checkpoint): string {
  if (!origin || /[\s+]/u.test(origin)) throw new SignedNoteError(`origin ${JSON.stringify(origin)} is empty or has a space or +`);
  if (!Number.isSafeInteger(size) || size < 0) throw new SignedNoteError(`tree size ${size} is not a count`);
  if (rootHash.length !== HASH_BYTES) throw new SignedNoteError(`a root hash has ${HASH_BYTES} bytes, not ${rootHash.length}`);
  return `${origin}\n${size}\n${rootHash.toString('base64')}\n`;
}

export async function signCheckpoint(checkpoint: Checkpoint, signer: EcdsaSigner): Promise<SignedCheckpoint> {
  const note = await signNote(checkpointText(checkpoint), checkpoint.origin, signer);
  return { ...checkpoint, note };
}

/** Reads the note text (no signature check): use `verifyCheckpoint` unless the signature was just checked. */
export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new SignedNoteError('a checkpoint has origin, tree size and root hash lines');
  const [origin, sizeLine, rootLine] = lines;
  if (!origin) throw new SignedNoteError('the checkpoint has an empty origin line');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) {
    throw new SignedNoteError(`the checkpoint's tree size ${JSON.stringify(sizeLine)} is not a decimal count without leading zeroes`);
  }
  const rootHash = Buffer.from(rootLine, 'base64');
  if (rootHash.length !== HASH_BYTES || rootHash.toString('base64') !== rootLine) {
    throw new SignedNoteError(`the checkpoint's root hash ${JSON.stringify(rootLine)} is not ${HASH_BYTES} bytes in standard base64`);
  }
  return { origin, size: Number(sizeLine), rootHash };
}

/**
 * Checks the note's signature against the trusted checkpoint keys, under the
 * key name the note's own origin line gives (a log signs as its origin), and
 * the origin against the expected one when the caller knows it.
 */
export function verifyCheckpoint(note: string, keys: readonly TrustedNoteKey[], expectedOrigin?: string): SignedCheckpoint {
  const origin = note.slice(0, note.indexOf('\n'));
  if (expectedOrigin !== undefined && origin !== expectedOrigin) {
    throw new SignedNoteError(`the checkpoint is for log ${JSON.stringify(origin)}, not ${JSON.stringify(expectedOrigin)}`);
  }
  const { text } = verifyNote(note, keys.map((k) => ({ ...k, name: origin })));
  return { ...parseCheckpointText(text), note };
}
