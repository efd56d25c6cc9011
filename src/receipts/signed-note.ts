import { KeyObject, verify } from 'node:crypto';
import { EcdsaSigner } from '../kms/ecdsa';
import { noteKeyId } from './keys';

/**
 * C2SP signed-note (c2sp.org/signed-note): a text ending in a newline, a
 * blank line, then one line per signature: `— <key name> base64(key ID[4] ‖
 * signature)`. Our signatures are type 0x02: ECDSA over SHA-256 of the text,
 * DER-encoded (what transparency-dev/formats' ECDSA verifier checks), so a
 * KMS signature goes in unchanged.
 */
export class SignedNoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignedNoteError';
  }
}

const EM_DASH = '\u2014';
const STD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface NoteSignature {
  keyName: string;
  keyId: Buffer;
  signature: Buffer;
}

export interface ParsedNote {
  /** the signed text, final newline included */
  text: string;
  signatures: NoteSignature[];
}

export async function signNote(text: string, keyName: string, signer: EcdsaSigner): Promise<string> {
  checkText(text);
  if (!keyName || /[\s+]/u.test(keyName)) throw new SignedNoteError(`key name ${JSON.stringify(keyName)} is empty or has a space or +`);
  const signature = await signer.sign(Buffer.from(text, 'utf8'));
  const keyId = noteKeyId(await signer.publicKey());
  return `${text}\n${EM_DASH} ${keyName} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

export function parseNote(note: string): ParsedNote {
  if (!note.endsWith('\n')) throw new SignedNoteError('a signed note ends with a newline');
  // The text is separated from the signatures by the last blank line.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new SignedNoteError('the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  checkText(text);
  const lines = note.slice(split + 2, -1).split('\n');
  const signatures = lines.map((line, i) => {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!match) throw new SignedNoteError(`signature line ${i + 1} is not "— <key name> <base64>"`);
    const bytes = Buffer.from(match[2], 'base64');
    if (!STD_BASE64.test(match[2]) || bytes.toString('base64') !== match[2] || bytes.length < 5) {
      throw new SignedNoteError(`signature line ${i + 1} (${match[1]}) is not a key ID and signature in standard base64`);
    }
    return { keyName: match[1], keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

export interface TrustedNoteKey {
  name: string;
  key: KeyObject;
}

/**
 * Verifies the signatures by trusted keys; signatures by unknown keys are
 * ignored, as the spec requires (that is how witnesses co-sign), but at least
 * one trusted key must have signed, and a trusted key's bad signature rejects
 * the note.
 */
export function verifyNote(note: string, trusted: readonly TrustedNoteKey[]): ParsedNote & { signedBy: TrustedNoteKey } {
  const parsed = parseNote(note);
  let signedBy: TrustedNoteKey | undefined;
  for (const signature of parsed.signatures) {
    const key = trusted.find((k) => k.name === signature.keyName && noteKeyId(k.key).equals(signature.keyId));
    if (!key) continue;
    const ok = verify('sha256', Buffer.from(parsed.text, 'utf8'), { key: key.key, dsaEncoding: 'der' }, signature.signature);
    if (!ok) {
      throw new SignedNoteError(`the signature by ${signature.keyName} (key ID ${signature.keyId.toString('hex')}) does not verify: the note was altered`);
    }
    signedBy ??= key;
  }
  if (!signedBy) {
    const found = parsed.signatures.map((s) => `${s.keyName}/${s.keyId.toString('hex')}`).join(', ');
    const known = trusted.map((k) => `${k.name}/${noteKeyId(k.key).toString('hex')}`).join(', ') || 'none';
    throw new SignedNoteError(`no signature by a trusted key: the note is signed by ${found}; trusted keys are ${known}`);
  }
  return { ...parsed, signedBy };
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new SignedNoteError('the note text must end with a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new SignedNoteError('the note text has a control character');
}
