import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { EncryptionContext, KeyringNode } from '@aws-crypto/client-node';
import { S3Client } from '@aws-sdk/client-s3';
import { decryptStream, encryptBuffer } from './encrypt';
import { openExportSource, readAll } from './export-source';
import { ExportCursor } from './export.types';
import { CURSOR_KEY } from './layout';
import { TableCopy } from './plan';
import { putObject } from './upload';

export interface CursorLocation {
  s3: S3Client;
  bucket: string;
  /** the export's prefix */
  prefix: string;
  sseKmsKeyId: string;
  keyring: KeyringNode;
  context: EncryptionContext;
}

/**
 * The cursor kept durably next to the chunks, encrypted like them. Temporal
 * throttles heartbeats (here to one per 16 s), so a worker killed between two
 * sends loses the tables it finished meanwhile; this copy is written as each
 * table completes. Saves are serialized in the order asked, so a slow
 * earlier save never overwrites a newer one.
 */
export class CursorStore {
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly at: CursorLocation) {}

  save(cursor: ExportCursor): Promise<void> {
    this.saving = this.saving.then(async () => {
      const plaintext = Buffer.from(JSON.stringify(cursor), 'utf8');
      const target = { s3: this.at.s3, bucket: this.at.bucket, key: this.at.prefix + CURSOR_KEY, sseKmsKeyId: this.at.sseKmsKeyId };
      await putObject(target, await encryptBuffer(this.at.keyring, this.at.context, plaintext), 'application/octet-stream');
    });
    return this.saving;
  }

  async load(): Promise<ExportCursor | null> {
    const source = openExportSource(`s3://${this.at.bucket}/${this.at.prefix}`, this.at.s3);
    if (!(await source.exists(CURSOR_KEY))) return null;
    const parts: Buffer[] = [];
    const encrypted = await readAll(source, CURSOR_KEY);
    for await (const part of Readable.from([encrypted]).pipe(decryptStream(this.at.keyring, this.at.context))) parts.push(part as Buffer);
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as ExportCursor;
  }
}

export function statementSha256(copy: TableCopy): string {
  return createHash('sha256').update(copy.sql).digest('hex');
}

/**
 * The cursor to continue from: the durable one if there is one (it is never
 * older than the heartbeat's), else the heartbeat's; only if it is for this
 * request and holds one snapshot; keeping only files the plan still reads
 * with the same COPY statement (the data map may have changed in between).
 */
export function startCursor(requestId: string, copies: TableCopy[], durable: ExportCursor | null, heartbeat?: ExportCursor): ExportCursor {
  const fresh: ExportCursor = { requestId, snapshots: [], completed: [], statements: {}, resumes: [] };
  const resume = durable ?? heartbeat;
  if (!resume || resume.requestId !== requestId || resume.snapshots.length !== 1) return fresh;
  const statements = resume.statements ?? {};
  const planned = new Map(copies.map((c) => [c.path, statementSha256(c)]));
  const completed = resume.completed.filter((f) => planned.get(f.path) === statements[f.path]);
  if (completed.length === 0) return fresh;
  return {
    requestId,
    snapshots: resume.snapshots,
    completed: completed.map((f) => ({ ...f, snapshot: 0 })),
    statements: Object.fromEntries(completed.map((f) => [f.path, statements[f.path]])),
    resumes: resume.resumes ?? [],
  };
}
