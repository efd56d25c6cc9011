import { SignedCheckpoint, verifyCheckpoint } from '../checkpoint';
import { MerkleTree } from '../merkle';
import { MerkleProofError, verifyConsistency, verifyInclusion } from '../merkle-verify';
import { SignedNoteError } from '../signed-note';
import { TlogProof } from '../tlog-proof';
import { TrustedKey } from './trusted-keys';
import { VerificationError } from './verification-error';
import { verifyChain } from './verify-chain';
import { verifyReceiptJws, VerifiedReceipt } from './verify-receipt';

export interface InclusionProofInput {
  source: string;
  proof: TlogProof;
}

/** Everything `compliance-ops verify` read, each piece with where it came from. */
export interface Evidence {
  receipts: Array<{ source: string; jws: string }>;
  keys: readonly TrustedKey[];
  checkpoint?: { source: string; note: string };
  oldCheckpoint?: { source: string; note: string };
  inclusionProofs?: InclusionProofInput[];
  consistencyProof?: { source: string; from: number; to: number; proof: Buffer[] };
}

export interface VerificationReport {
  receipts: VerifiedReceipt[];
  checkpoint?: SignedCheckpoint;
  oldCheckpoint?: SignedCheckpoint;
  summary: string;
}

/**
 * The offline check, in order: each receipt (signature, canonical form), the
 * chain, the checkpoint's signature, inclusion of every receipt in it, then
 * consistency with an older checkpoint. Throws the first failure.
 */
export function verifyEvidence(evidence: Evidence): VerificationReport {
  if (evidence.receipts.length === 0) throw new VerificationError('no receipt found to verify');
  const verified = evidence.receipts.map(({ source, jws }) => verifyReceiptJws(jws.trim(), evidence.keys, source));
  const receipts = verifyChain(verified);
  const proofs = evidence.inclusionProofs ?? [];
  const checkpointInput = evidence.checkpoint ?? (proofs[0] && { source: proofs[0].source, note: proofs[0].proof.checkpoint });
  if (!checkpointInput) {
    if (evidence.oldCheckpoint) throw new VerificationError('--old-checkpoint needs --checkpoint: consistency is between two checkpoints');
    return { receipts, summary: `${describe(receipts)}; not checked against a checkpoint (give --checkpoint or --proof)` };
  }
  const checkpoint = checkpointOf(checkpointInput, evidence.keys);
  const tree = new MerkleTree(receipts.map((r) => r.leafHash));
  // The receipts are the whole log up to the checkpoint: the root can be recomputed, no proof needed.
  const wholeLog = receipts[0].receipt.log.index === 0 && receipts.length === checkpoint.size;
  checkInclusion(receipts, proofs, checkpoint, tree, wholeLog, evidence.keys);
  let summary = `${describe(receipts)}; included in checkpoint ${checkpoint.origin} size ${checkpoint.size} ` +
    `(root ${checkpoint.rootHash.toString('base64')})`;
  if (!evidence.oldCheckpoint) return { receipts, checkpoint, summary };
  const old = checkpointOf(evidence.oldCheckpoint, evidence.keys);
  checkConsistency(old, checkpoint, evidence, wholeLog ? tree : undefined);
  summary += `; consistent with the older checkpoint of size ${old.size}`;
  return { receipts, checkpoint, oldCheckpoint: old, summary };
}

function describe(receipts: VerifiedReceipt[]): string {
  const first = receipts[0].receipt.log.index;
  const last = receipts[receipts.length - 1].receipt.log.index;
  const kids = [...new Set(receipts.map((r) => r.kid))].join(', ');
  const what = receipts.length === 1 ? `1 receipt (log index ${first})` : `${receipts.length} receipts (log indexes ${first}–${last}), chain intact`;
  return `valid: ${what}, signed by ${kids}`;
}

function checkpointOf(input: { source: string; note: string }, keys: readonly TrustedKey[]): SignedCheckpoint {
  const noteKeys = keys.filter((k) => k.purpose !== 'receipts').map((k) => ({ name: '', key: k.key }));
  try {
    return verifyCheckpoint(input.note, noteKeys);
  } catch (error) {
    if (error instanceof SignedNoteError) throw new VerificationError(`${input.source}: ${error.message}`);
    throw error;
  }
}

/**
 * Every receipt must be in the checkpoint's tree: recomputed from the leaves
 * when the receipts are the whole log from index 0, otherwise by its own
 * tlog-proof. A receipt newer than the checkpoint cannot be shown included.
 */
function checkInclusion(
  receipts: VerifiedReceipt[], proofs: InclusionProofInput[], checkpoint: SignedCheckpoint,
  tree: MerkleTree, wholeLog: boolean, keys: readonly TrustedKey[],
): void {
  const foreign = receipts.find((r) => r.receipt.log.origin !== checkpoint.origin);
  if (foreign) {
    throw new VerificationError(`${foreign.source}: belongs to log ${JSON.stringify(foreign.receipt.log.origin)}, the checkpoint to ${JSON.stringify(checkpoint.origin)}`);
  }
  const last = receipts[receipts.length - 1];
  if (last.receipt.log.index >= checkpoint.size) {
    throw new VerificationError(`${last.source}: log index ${last.receipt.log.index} is not covered by the checkpoint (tree size ${checkpoint.size}); fetch a newer checkpoint`);
  }
  if (wholeLog) {
    const root = tree.root(checkpoint.size);
    if (!root.equals(checkpoint.rootHash)) {
      throw new VerificationError(`the receipts at log indexes 0–${checkpoint.size - 1} hash to root ${root.toString('base64')}, ` +
        `but the checkpoint says ${checkpoint.rootHash.toString('base64')}: a receipt was altered, removed, reordered or added`);
    }
  }
  for (const { source, proof } of proofs) {
    const receipt = receipts.find((r) => r.receipt.log.index === proof.index);
    if (!receipt) throw new VerificationError(`${source}: proves log index ${proof.index}, but no receipt with that index was given`);
    const proofCheckpoint = proof.checkpoint === checkpoint.note ? checkpoint : checkpointOf({ source, note: proof.checkpoint }, keys);
    try {
      verifyInclusion(proof.index, proofCheckpoint.size, receipt.leafHash, proof.inclusion, proofCheckpoint.rootHash);
    } catch (error) {
      if (error instanceof MerkleProofError) throw new VerificationError(`${source}: ${error.message} (receipt ${receipt.source})`);
      throw error;
    }
  }
  if (!wholeLog) {
    const unproven = receipts.find((r) => !proofs.some((p) => p.proof.index === r.receipt.log.index));
    if (unproven) {
      throw new VerificationError(`${unproven.source}: no inclusion proof for log index ${unproven.receipt.log.index}, ` +
        'and the receipts do not start at index 0 so the root cannot be recomputed; add its .tlog-proof');
    }
  }
}

function checkConsistency(old: SignedCheckpoint, current: SignedCheckpoint, evidence: Evidence, tree?: MerkleTree): void {
  const source = evidence.oldCheckpoint!.source;
  if (old.origin !== current.origin) throw new VerificationError(`${source}: is for log ${old.origin}, the checkpoint for ${current.origin}`);
  if (old.size > current.size) throw new VerificationError(`${source}: the old checkpoint (size ${old.size}) is newer than the checkpoint (size ${current.size})`);
  if (tree) {
    const root = tree.root(old.size);
    if (!root.equals(old.rootHash)) {
      throw new VerificationError(`${source}: the log was rewritten: its first ${old.size} receipts hash to ${root.toString('base64')}, ` +
        `not the old checkpoint's root ${old.rootHash.toString('base64')}`);
    }
    return;
  }
  const proof = evidence.consistencyProof;
  if (!proof) throw new VerificationError(`${source}: checking consistency without the whole log needs a consistency proof (--proof)`);
  if (proof.from !== old.size || proof.to !== current.size) {
    throw new VerificationError(`${proof.source}: proves sizes ${proof.from} → ${proof.to}, but the checkpoints have sizes ${old.size} → ${current.size}`);
  }
  try {
    verifyConsistency(old.size, current.size, old.rootHash, current.rootHash, proof.proof);
  } catch (error) {
    if (error instanceof MerkleProofError) throw new VerificationError(`${proof.source}: ${error.message}`);
    throw error;
  }
}
