import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { localEcdsaSigner } from '../../src/kms/ecdsa';
import { checkpointText, parseCheckpointText, signCheckpoint, verifyCheckpoint } from '../../src/receipts/checkpoint';
import { spkiDer } from '../../src/receipts/keys';
import { leafHash, MerkleTree } from '../../src/receipts/merkle';
import { parseNote, SignedNoteError } from '../../src/receipts/signed-note';
import { formatTlogProof, parseTlogProof } from '../../src/receipts/tlog-proof';

const ORIGIN = 'compliance-ops.test/receipts';
const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const tree = new MerkleTree(Array.from({ length: 6 }, (_, i) => leafHash(Buffer.from(`r${i}`))));

describe('C2SP checkpoints as signed notes', () => {
  it('writes origin, size and base64 root, a blank line, then "— <origin> base64(SHA-256(SPKI)[:4] ‖ DER signature)"', async () => {
    const { privateKey, publicKey } = keyPair();
    const { note } = await signCheckpoint({ origin: ORIGIN, size: 6, rootHash: tree.root() }, localEcdsaSigner(privateKey, publicKey));
    const text = `${ORIGIN}\n6\n${tree.root().toString('base64')}\n`;
    expect(note.startsWith(`${text}\n\u2014 ${ORIGIN} `)).toBe(true);
    expect(note.endsWith('\n')).toBe(true);
    const signature = Buffer.from(note.slice(text.length + 1).split(' ')[2].trim(), 'base64');
    expect(signature.subarray(0, 4).equals(createHash('sha256').update(spkiDer(publicKey)).digest().subarray(0, 4))).toBe(true);
    // The rest is the DER ECDSA signature over the note text, as openssl checks it.
    expect(verify('sha256', Buffer.from(text), { key: publicKey, dsaEncoding: 'der' }, signature.subarray(4))).toBe(true);
    const checked = verifyCheckpoint(note, [{ name: '', key: publicKey }], ORIGIN);
    expect(checked.size).toBe(6);
    expect(checked.rootHash.equals(tree.root())).toBe(true);
  });

  it('refuses a checkpoint signed by another key, naming both key IDs', async () => {
    const trusted = keyPair();
    const other = keyPair();
    const { note } = await signCheckpoint({ origin: ORIGIN, size: 6, rootHash: tree.root() }, localEcdsaSigner(other.privateKey, other.publicKey));
    expect(() => verifyCheckpoint(note, [{ name: '', key: trusted.publicKey }])).toThrow(
      /^no signature by a trusted key: the note is signed by compliance-ops\.test\/receipts\/[0-9a-f]{8}; trusted keys are compliance-ops\.test\/receipts\/[0-9a-f]{8}$/,
    );
  });

  it('refuses an altered size or root, and a checkpoint of another log', async () => {
    const { privateKey, publicKey } = keyPair();
    const { note } = await signCheckpoint({ origin: ORIGIN, size: 6, rootHash: tree.root() }, localEcdsaSigner(privateKey, publicKey));
    const trusted = [{ name: '', key: publicKey }];
    expect(() => verifyCheckpoint(note.replace('\n6\n', '\n7\n'), trusted)).toThrow(/does not verify: the note was altered/);
    expect(() => verifyCheckpoint(note, trusted, 'elsewhere.example/log')).toThrow(/is for log "compliance-ops.test\/receipts"/);
    expect(() => parseNote(note.replace('\n\n', '\n'))).toThrow(SignedNoteError);
  });

  it('reads back what it writes and rejects malformed bodies', () => {
    const text = checkpointText({ origin: ORIGIN, size: 0, rootHash: tree.root(0) });
    expect(text).toBe(`${ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`);
    expect(parseCheckpointText(text).size).toBe(0);
    expect(() => parseCheckpointText(`${ORIGIN}\n06\n${tree.root().toString('base64')}\n`)).toThrow(/leading zeroes/);
    expect(() => checkpointText({ origin: 'has space', size: 1, rootHash: tree.root() })).toThrow(/space or \+/);
  });
});

describe('c2sp.org/tlog-proof@v1 bundles', () => {
  it('round-trips index, hashes and checkpoint, and refuses a malformed proof line', () => {
    const inclusion = tree.inclusionProof(3);
    const checkpoint = `${ORIGIN}\n6\n${tree.root().toString('base64')}\n\n\u2014 ${ORIGIN} AAAA\n`;
    const text = formatTlogProof({ index: 3, inclusion, checkpoint });
    expect(text.split('\n').slice(0, 2)).toEqual(['c2sp.org/tlog-proof@v1', 'index 3']);
    const parsed = parseTlogProof(text);
    expect(parsed.index).toBe(3);
    expect(parsed.inclusion.map((h) => h.toString('hex'))).toEqual(inclusion.map((h) => h.toString('hex')));
    expect(parsed.checkpoint).toBe(checkpoint);
    expect(() => parseTlogProof(text.replace('index 3', 'index 03'))).toThrow(/index line/);
    expect(() => parseTlogProof(text.replace(inclusion[0].toString('base64'), 'AAAA'))).toThrow(/line 1 is not a 32-byte hash/);
  });
});
