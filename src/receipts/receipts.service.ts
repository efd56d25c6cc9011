import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config, PROJECT_ROOT } from '../config';
import { notFound } from '../errors';
import { EcdsaSigner, kmsEcdsaSigner } from '../kms/ecdsa';
import { Jwks } from './keys';
import { ReceiptLogRepository, StoredReceipt } from './log.repository';
import { IssuedReceipt, Receipt, RECEIPT_FORMAT, RECEIPT_FORMAT_VERSION, ReceiptContent, ReceiptView } from './receipt.types';
import { ReceiptsBucket } from './receipts.bucket';
import { decodeReceipt, receiptDigest, signersJwks, signReceipt } from './sign';
import { proofFor, TransparencyLog } from './transparency-log';
import { parseReceiptContent } from './validate-content';

/** The log's name in checkpoints (C2SP: a schema-less URL; it need not resolve). */
export const DEFAULT_LOG_ORIGIN = 'compliance-ops.local/receipts';

export interface ReceiptsServiceDeps {
  /** the catalog database */
  pool: Pool;
  s3: S3Client;
  bucket: string;
  receiptSigner: EcdsaSigner;
  checkpointSigner: EcdsaSigner;
  /** the log's name in its checkpoints; default DEFAULT_LOG_ORIGIN */
  origin?: string;
  /** keys in the bucket start with it; default none */
  bucketPrefix?: string;
}

const TOOL_VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface ReceiptProof {
  receiptId: string;
  index: number;
  jws: string;
  /** c2sp.org/tlog-proof@v1 text: index, inclusion hashes, checkpoint */
  tlogProof: string;
  inclusion: string[];
  checkpoint: string;
}

/**
 * Issues receipts and serves the log. A plain class: the erasure and
 * retention activities build one with `ReceiptsService.fromConfig`, Nest
 * builds one in ReceiptsModule.
 */
export class ReceiptsService {
  readonly log: TransparencyLog;
  private readonly repository: ReceiptLogRepository;
  private readonly bucket: ReceiptsBucket;
  private jwksPublished = false;

  constructor(private readonly deps: ReceiptsServiceDeps) {
    this.repository = new ReceiptLogRepository(deps.pool);
    this.bucket = new ReceiptsBucket(deps.s3, deps.bucket, deps.bucketPrefix);
    this.log = new TransparencyLog(this.repository, deps.checkpointSigner, this.bucket, deps.origin ?? DEFAULT_LOG_ORIGIN);
  }

  static fromConfig(
    config: Config,
    clients: { pool: Pool; kms: KMSClient; s3: S3Client },
    options: Pick<ReceiptsServiceDeps, 'origin' | 'bucketPrefix'> = {},
  ): ReceiptsService {
    return new ReceiptsService({
      pool: clients.pool,
      s3: clients.s3,
      bucket: config.S3_RECEIPTS_BUCKET,
      receiptSigner: kmsEcdsaSigner(clients.kms, config.KMS_RECEIPT_KEY_ARN),
      checkpointSigner: kmsEcdsaSigner(clients.kms, config.KMS_CHECKPOINT_KEY_ARN),
      origin: config.RECEIPTS_LOG_ORIGIN,
      ...options,
    });
  }

  /**
   * Signs, logs and publishes the receipt for one request and tenant (an
   * erasure has one tenant; a retention run receipts each tenant it purged).
   * Idempotent: a second call (an activity retry, a resumed workflow) returns
   * the first receipt and finishes publishing it if a crash cut that short.
   */
  async issue(content: ReceiptContent): Promise<IssuedReceipt> {
    const checked = parseReceiptContent(content);
    // A retry finds its receipt without queueing behind the append lock; append() re-checks under the lock.
    const receipt = (await this.repository.byRequest(checked.requestId, checked.tenantId)) ?? (await this.append(checked));
    await this.publish(receipt);
    return { receiptId: receipt.id, jws: receipt.jws, logIndex: receipt.logIndex };
  }

  /** Signs the receipt with its log position (index, predecessor's digest) and appends it, under the append lock. */
  private async append(content: ReceiptContent): Promise<StoredReceipt> {
    const { receipt } = await this.repository.append(content.requestId, content.tenantId, async ({ index, previous }) => {
      const signed: Receipt = {
        format: RECEIPT_FORMAT,
        version: RECEIPT_FORMAT_VERSION,
        receiptId: randomUUID(),
        issuedAt: new Date().toISOString(),
        ...content,
        tool: { name: 'compliance-ops', version: TOOL_VERSION },
        log: { origin: this.log.origin, index, previous: previous && { index: previous.index, sha256: receiptDigest(previous.jws) } },
      };
      return { id: signed.receiptId, jws: await signReceipt(signed, this.deps.receiptSigner) };
    });
    return receipt;
  }

  async get(receiptId: string): Promise<ReceiptView | null> {
    const stored = await this.repository.byId(receiptId);
    return stored && toView(stored);
  }

  async byRequest(requestId: string, tenantId: string): Promise<ReceiptView | null> {
    const stored = await this.repository.byRequest(requestId, tenantId);
    return stored && toView(stored);
  }

  async list(filter: { tenantId?: string; afterIndex?: number; limit: number }): Promise<ReceiptView[]> {
    return (await this.repository.list(filter)).map(toView);
  }

  async jwks(): Promise<Jwks> {
    return signersJwks({ receipts: this.deps.receiptSigner, checkpoints: this.deps.checkpointSigner });
  }

  /** The receipt with its inclusion proof against the current checkpoint. */
  async proof(receiptId: string): Promise<ReceiptProof> {
    const stored = await this.repository.byId(receiptId);
    if (!stored) throw notFound('receipt_not_found', `no receipt ${receiptId}`);
    const { tree, checkpoint } = await this.log.snapshot();
    const { tlogProof, inclusion } = proofFor(tree, checkpoint, stored.logIndex);
    return { receiptId: stored.id, index: stored.logIndex, jws: stored.jws, tlogProof, inclusion, checkpoint: checkpoint.note };
  }

  /** Receipt, checkpoint and key set into the Object Lock bucket; each step skips what is already there. */
  private async publish(receipt: StoredReceipt): Promise<void> {
    await this.bucket.putReceipt(receipt.tenantId, receipt.id, receipt.jws);
    if (!this.jwksPublished) {
      await this.bucket.putJwks(await this.jwks());
      this.jwksPublished = true;
    }
    await this.log.snapshot();
  }
}

export function toView(stored: StoredReceipt): ReceiptView {
  return {
    receiptId: stored.id,
    requestId: stored.requestId,
    tenantId: stored.tenantId,
    logIndex: stored.logIndex,
    sha256: receiptDigest(stored.jws),
    jws: stored.jws,
    receipt: decodeReceipt(stored.jws),
    createdAt: stored.createdAt.toISOString(),
  };
}
