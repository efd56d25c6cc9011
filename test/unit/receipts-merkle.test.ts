import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_TREE_ROOT, leafHash, MerkleTree } from '../../src/receipts/merkle';
import { MerkleProofError, rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/receipts/merkle-verify';

/** MTH straight from RFC 6962 §2.1, over the entries themselves: the independent reference. */
function referenceRoot(entries: Buffer[]): Buffer {
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  if (entries.length === 0) return sha();
  if (entries.length === 1) return sha(Buffer.from([0]), entries[0]);
  let k = 1;
  while (k * 2 < entries.length) k *= 2;
  return sha(Buffer.from([1]), referenceRoot(entries.slice(0, k)), referenceRoot(entries.slice(k)));
}

const entries = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`receipt ${i}`));
const treeOf = (data: Buffer[]) => new MerkleTree(data.map(leafHash));

describe('Merkle tree hashing (RFC 6962 / 9162)', () => {
  it('matches the RFC 6962 reference roots of the certificate-transparency test vectors', () => {
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']
      .map((hex) => leafHash(Buffer.from(hex, 'hex')));
    const expected = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const tree = new MerkleTree(leaves);
    expected.forEach((root, i) => expect(tree.root(i + 1).toString('hex')).toBe(root));
    expect(EMPTY_TREE_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('computes the same root as a brute-force MTH for every size up to 70', () => {
    const data = entries(70);
    const tree = treeOf(data);
    for (let n = 0; n <= 70; n++) expect(tree.root(n).equals(referenceRoot(data.slice(0, n)))).toBe(true);
  });

  it('gives every leaf an inclusion proof that leads to the brute-force root, for every tree size up to 40', () => {
    const data = entries(40);
    const tree = treeOf(data);
    for (let n = 1; n <= 40; n++) {
      const root = referenceRoot(data.slice(0, n));
      for (let m = 0; m < n; m++) verifyInclusion(m, n, leafHash(data[m]), tree.inclusionProof(m, n), root);
    }
  });

  it('gives every pair of sizes a consistency proof that checks against the brute-force roots', () => {
    const data = entries(40);
    const tree = treeOf(data);
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        verifyConsistency(m, n, referenceRoot(data.slice(0, m)), referenceRoot(data.slice(0, n)), tree.consistencyProof(m, n));
      }
    }
  });

  it('a reordered log has another root', () => {
    const data = entries(9);
    const swapped = [...data];
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    expect(treeOf(swapped).root().equals(treeOf(data).root())).toBe(false);
  });
});

describe('Merkle proof verification refuses a wrong proof and says why', () => {
  const data = entries(13);
  const tree = treeOf(data);
  const root = tree.root();
  const proof = tree.inclusionProof(5);

  it('a changed sibling hash', () => {
    const bad = proof.map((h, i) => (i === 1 ? Buffer.from(h).fill(7, 0, 1) : h));
    expect(() => verifyInclusion(5, 13, leafHash(data[5]), bad, root)).toThrow(/leads to root .* not the checkpoint's/);
  });

  it('the proof of another leaf, or a leaf at the wrong index', () => {
    expect(() => verifyInclusion(5, 13, leafHash(data[6]), proof, root)).toThrow(MerkleProofError);
    expect(() => verifyInclusion(4, 13, leafHash(data[5]), proof, root)).toThrow(MerkleProofError);
  });

  it('too many or too few hashes, an index outside the tree', () => {
    expect(() => rootFromInclusionProof(5, 13, leafHash(data[5]), [...proof, proof[0]])).toThrow(/more hashes than/);
    expect(() => rootFromInclusionProof(5, 13, leafHash(data[5]), proof.slice(1))).toThrow(/too few hashes/);
    expect(() => rootFromInclusionProof(13, 13, leafHash(data[5]), proof)).toThrow(/outside a tree of size 13/);
  });

  it('a consistency proof against a rewritten old tree', () => {
    const rewritten = treeOf([...data.slice(0, 6), Buffer.from('forged'), ...data.slice(7)]);
    expect(() => verifyConsistency(7, 13, rewritten.root(7), root, tree.consistencyProof(7, 13))).toThrow(/rebuilds old root/);
    // A complete old tree (size 8) is the proof's first hash: the forgery surfaces at the new root.
    expect(() => verifyConsistency(8, 13, rewritten.root(8), root, tree.consistencyProof(8, 13))).toThrow(/log was rewritten/);
    expect(() => verifyConsistency(8, 13, tree.root(8), rewritten.root(), tree.consistencyProof(8, 13))).toThrow(/rebuilds new root/);
    expect(() => verifyConsistency(13, 13, tree.root(), rewritten.root(), [])).toThrow(/the log forked/);
    expect(() => verifyConsistency(9, 8, tree.root(9), tree.root(8), [])).toThrow(/larger than the new one/);
  });
});
