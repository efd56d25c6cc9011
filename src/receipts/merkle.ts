import { createHash } from 'node:crypto';

/**
 * The Merkle tree hash of RFC 6962 §2.1 / RFC 9162 §2.1: leaves and interior
 * nodes are hashed with different prefixes (0x00, 0x01), so a leaf can never
 * pass for a node. Pure: no I/O; sizes and indexes are plain numbers (safe to
 * 2^53) and halved with division, never with 32-bit shifts.
 */
export const HASH_BYTES = 32;

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** MTH({}): the hash of the empty string. */
export const EMPTY_TREE_ROOT = sha256();

export const leafHash = (entry: Uint8Array): Buffer => sha256(Buffer.from([0x00]), entry);
export const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer => sha256(Buffer.from([0x01]), left, right);

const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n));

/** The largest power of two strictly below n (n ≥ 2): where RFC 6962 splits a tree. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * A tree over leaf hashes already computed, with the hashes of complete
 * subtrees memoised: one proof costs O(n) the first time, and every further
 * proof over the same leaves O(log n), which is what exporting a proof per
 * receipt needs.
 */
export class MerkleTree {
  private readonly completeSubtrees = new Map<string, Buffer>();

  constructor(private readonly leaves: readonly Buffer[]) {}

  get size(): number {
    return this.leaves.length;
  }

  /** MTH(D[start:end]) */
  hash(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return EMPTY_TREE_ROOT;
    if (n === 1) return this.leaves[start];
    const key = `${start}:${n}`;
    const cached = this.completeSubtrees.get(key);
    if (cached) return cached;
    const k = splitPoint(n);
    const hash = nodeHash(this.hash(start, start + k), this.hash(start + k, end));
    // Only complete subtrees recur across proofs and tree sizes; the ragged right edge does not.
    if (isPowerOfTwo(n)) this.completeSubtrees.set(key, hash);
    return hash;
  }

  root(size = this.size): Buffer {
    this.checkSize(size);
    return this.hash(0, size);
  }

  /** PATH(index, D[0:size]), RFC 9162 §2.1.3.1: from the leaf's sibling up to the root's child. */
  inclusionProof(index: number, size = this.size): Buffer[] {
    this.checkSize(size);
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
    return this.path(index, 0, size);
  }

  /** PROOF(oldSize, D[0:newSize]), RFC 9162 §2.1.4.1; empty when oldSize is 0 or equals newSize. */
  consistencyProof(oldSize: number, newSize = this.size): Buffer[] {
    this.checkSize(newSize);
    if (!Number.isInteger(oldSize) || oldSize < 0 || oldSize > newSize) {
      throw new RangeError(`no consistency proof from size ${oldSize} to size ${newSize}`);
    }
    if (oldSize === 0 || oldSize === newSize) return [];
    return this.subproof(oldSize, 0, newSize, true);
  }

  private path(m: number, start: number, end: number): Buffer[] {
    const n = end - start;
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...this.path(m, start, start + k), this.hash(start + k, end)]
      : [...this.path(m - k, start + k, end), this.hash(start, start + k)];
  }

  private subproof(m: number, start: number, end: number, wholeOldTree: boolean): Buffer[] {
    const n = end - start;
    if (m === n) return wholeOldTree ? [] : [this.hash(start, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...this.subproof(m, start, start + k, wholeOldTree), this.hash(start + k, end)]
      : [...this.subproof(m - k, start + k, end, false), this.hash(start, start + k)];
  }

  private checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.leaves.length) {
      throw new RangeError(`a tree of ${this.leaves.length} leaves has no size ${size}`);
    }
  }
}
