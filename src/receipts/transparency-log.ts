import { EcdsaSigner } from '../kms/ecdsa';
import { badInput } from '../errors';
import { signCheckpoint } from './checkpoint';
import { ReceiptLogRepository, StoredCheckpoint } from './log.repository';
import { MerkleTree } from './merkle';
import { ReceiptsBucket } from './receipts.bucket';
import { formatTlogProof } from './tlog-proof';

/** The log as read at one moment: its leaves and a signed checkpoint over all of them. */
export interface LogSnapshot {
  tree: MerkleTree;
  checkpoint: StoredCheckpoint;
}

export interface ConsistencyProof {
  from: number;
  to: number;
  /** base64 hashes, RFC 9162 §2.1.4 */
  proof: string[];
  /** the signed checkpoints of both sizes, when the log signed one at that size */
  fromCheckpoint: string | null;
  toCheckpoint: string | null;
}

/**
 * Checkpoints and proofs over the receipts table. Proofs are computed from
 * every leaf hash (32 bytes a receipt, read in one query): fine for the
 * thousands of receipts an erasure service issues a year; a log of millions
 * would keep subtree hashes (tlog-tiles) instead.
 */
export class TransparencyLog {
  constructor(
    private readonly repository: ReceiptLogRepository,
    private readonly signer: EcdsaSigner,
    private readonly bucket: ReceiptsBucket,
    readonly origin: string,
  ) {}

  /**
   * The log now, with a checkpoint for its current size: the stored one, or
   * a new one signed and stored. A stored checkpoint whose root differs from
   * the recomputed root means the table was rewritten: that is an alarm, not
   * something to sign over.
   */
  async snapshot(): Promise<LogSnapshot> {
    const tree = new MerkleTree(await this.repository.leafHashes());
    const root = tree.root();
    let checkpoint = await this.repository.checkpoint(tree.size);
    if (!checkpoint) {
      // A log must never sign a checkpoint inconsistent with one it signed before (c2sp.org/tlog-checkpoint).
      const latest = await this.repository.latestCheckpoint();
      if (latest && (latest.size > tree.size || !tree.root(latest.size).equals(latest.rootHash))) {
        throw new Error(`the receipt log is inconsistent with its checkpoint at size ${latest.size}: refusing to sign a fork`);
      }
      const signed = await signCheckpoint({ origin: this.origin, size: tree.size, rootHash: root }, this.signer);
      checkpoint = await this.repository.saveCheckpoint({ size: tree.size, rootHash: root, note: signed.note });
    }
    if (!checkpoint.rootHash.equals(root)) {
      throw new Error(`the receipt log no longer matches its checkpoint at size ${tree.size}: the receipts table was altered`);
    }
    // Idempotent (put if absent): a crash between saving and uploading is repaired by the next call.
    await this.bucket.putCheckpoint(checkpoint.size, checkpoint.note);
    return { tree, checkpoint };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint> {
    return (await this.snapshot()).checkpoint;
  }

  /** A c2sp.org/tlog-proof@v1 bundle for the leaf at `index`, against the current checkpoint. */
  async inclusionProof(index: number): Promise<{ tlogProof: string; inclusion: string[]; checkpoint: StoredCheckpoint }> {
    const { tree, checkpoint } = await this.snapshot();
    return { ...proofFor(tree, checkpoint, index), checkpoint };
  }

  /** Proof that the tree of size `from` is a prefix of the tree of size `to` (default: now). */
  async consistencyProof(from: number, to?: number): Promise<ConsistencyProof> {
    const { tree, checkpoint } = await this.snapshot();
    const target = to ?? checkpoint.size;
    if (target > tree.size) throw badInput('tree_size_too_large', `the log has ${tree.size} receipts; ask for sizes up to ${tree.size}`);
    if (from > target) throw badInput('invalid_tree_sizes', `from (${from}) must not exceed to (${target})`);
    const [fromCheckpoint, toCheckpoint] = await Promise.all([this.repository.checkpoint(from), this.repository.checkpoint(target)]);
    return {
      from,
      to: target,
      proof: tree.consistencyProof(from, target).map((hash) => hash.toString('base64')),
      fromCheckpoint: fromCheckpoint?.note ?? null,
      toCheckpoint: toCheckpoint?.note ?? null,
    };
  }
}

export function proofFor(tree: MerkleTree, checkpoint: StoredCheckpoint, index: number): { tlogProof: string; inclusion: string[] } {
  const inclusion = tree.inclusionProof(index, checkpoint.size);
  return {
    tlogProof: formatTlogProof({ index, inclusion, checkpoint: checkpoint.note }),
    inclusion: inclusion.map((hash) => hash.toString('base64')),
  };
}
