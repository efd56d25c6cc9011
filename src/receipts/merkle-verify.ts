import { HASH_BYTES, nodeHash } from './merkle';

/**
 * Proof verification, RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
 * (consistency), as an auditor runs it: from the proof and the signed roots
 * alone, never from the log's leaves. Each failure says which check failed.
 */
export class MerkleProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MerkleProofError';
  }
}

const isOdd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);
const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n));
const hex = (hash: Uint8Array) => Buffer.from(hash).toString('hex');

function checkHashes(hashes: readonly Uint8Array[], what: string): void {
  hashes.forEach((hash, i) => {
    if (hash.length !== HASH_BYTES) throw new MerkleProofError(`${what} hash ${i} has ${hash.length} bytes, not ${HASH_BYTES}`);
  });
}

/** The root that `proof` leads to from `leaf` at `index` in a tree of `size`. */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new MerkleProofError(`index ${index} is outside a tree of size ${size}`);
  }
  checkHashes(proof, 'inclusion proof');
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) throw new MerkleProofError(`the inclusion proof has more hashes than a tree of size ${size} needs`);
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleProofError(`the inclusion proof has too few hashes for index ${index} in a tree of size ${size}`);
  return r;
}

export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  if (!computed.equals(root)) {
    throw new MerkleProofError(`the inclusion proof for index ${index} leads to root ${hex(computed)}, not the checkpoint's ${hex(root)}`);
  }
}

/** Throws unless the tree of `oldSize` with `oldRoot` is a prefix of the tree of `newSize` with `newRoot`. */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  if (oldSize > newSize) throw new MerkleProofError(`the old tree (size ${oldSize}) is larger than the new one (size ${newSize})`);
  checkHashes(proof, 'consistency proof');
  if (oldSize === newSize || oldSize === 0) {
    if (proof.length !== 0) throw new MerkleProofError(`a consistency proof from size ${oldSize} to ${newSize} must be empty`);
    if (oldSize === newSize && !Buffer.from(oldRoot).equals(newRoot)) {
      throw new MerkleProofError(`two checkpoints of size ${oldSize} have different roots: the log forked`);
    }
    return;
  }
  if (proof.length === 0) throw new MerkleProofError(`the consistency proof from size ${oldSize} to ${newSize} is empty`);
  // A complete old tree is itself a node of the new one: the proof leaves it out.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]);
  let sr: Buffer = Buffer.from(path[0]);
  for (const c of path.slice(1)) {
    if (sn === 0) throw new MerkleProofError(`the consistency proof has more hashes than sizes ${oldSize} → ${newSize} need`);
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleProofError(`the consistency proof has too few hashes for sizes ${oldSize} → ${newSize}`);
  if (!fr.equals(oldRoot)) {
    throw new MerkleProofError(`the consistency proof rebuilds old root ${hex(fr)}, not the old checkpoint's ${hex(oldRoot)}: ` +
      'the log was rewritten since the old checkpoint, or the proof is wrong');
  }
  if (!sr.equals(newRoot)) {
    // With a complete old tree (size 2^k) the old root is the proof's first hash, so a rewrite shows up here.
    throw new MerkleProofError(`the consistency proof rebuilds new root ${hex(sr)}, not the new checkpoint's ${hex(newRoot)}: ` +
      'the log was rewritten since the old checkpoint, or the proof is wrong');
  }
}
