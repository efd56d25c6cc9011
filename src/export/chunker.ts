import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { RowBatch } from './copy-out';

export interface ChunkStats {
  /** row ends inside the chunk (the CSV header counts as one) */
  rows: number;
  bytes: number;
  /** SHA-256 of the file from its start through this chunk, once the chunk's stream ended */
  fileSha256: string | null;
}

/**
 * Cuts one table's COPY output into chunks of about `chunkBytes`, always
 * between rows, while hashing the file on the way (one pass: a chunk's digest
 * is the file's digest so far, taken from a copy of the hash state). Every
 * batch ends on a row boundary, so a chunk ends after the batch that filled
 * it (at most one batch over). Each chunk is a Readable pulling from the
 * shared COPY iterator, so backpressure runs from S3 all the way back to
 * Postgres and at most one batch waits here.
 */
export class TableChunker {
  readonly fileHash = createHash('sha256');
  fileBytes = 0;
  fileRows = 0;
  /** a batch read to learn whether more follows, not yet handed out */
  private carry: RowBatch | null = null;
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<RowBatch>,
    private readonly chunkBytes: number,
    private readonly onData: (fileBytes: number, fileRows: number) => void = () => undefined,
  ) {}

  /** True when the COPY has more rows after the chunks handed out so far. */
  async hasMore(): Promise<boolean> {
    this.carry ??= await this.read();
    return this.carry !== null;
  }

  /** The next chunk as a stream; its stats are final once the stream ends. */
  nextChunk(): { stream: Readable; stats: ChunkStats } {
    const stats: ChunkStats = { rows: 0, bytes: 0, fileSha256: null };
    const stream = Readable.from(this.chunkBuffers(stats), { objectMode: false });
    return { stream, stats };
  }

  private async *chunkBuffers(stats: ChunkStats): AsyncGenerator<Buffer> {
    while (stats.bytes < this.chunkBytes) {
      const batch = this.carry ? this.counted(this.carry) : await this.pull();
      this.carry = null;
      if (batch === null) break;
      stats.rows += batch.rows;
      stats.bytes += batch.data.length;
      this.onData(this.fileBytes, this.fileRows);
      yield batch.data;
    }
    // A batch read ahead (to learn whether more follows) is not hashed yet: pull() hashes on hand-out.
    stats.fileSha256 = this.fileHash.copy().digest('hex');
  }

  /** The next batch, counted and hashed into the file as it is handed out. */
  private async pull(): Promise<RowBatch | null> {
    const batch = await this.read();
    return batch && this.counted(batch);
  }

  private async read(): Promise<RowBatch | null> {
    if (this.ended) return null;
    const { value, done } = await this.source.next();
    if (done) {
      this.ended = true;
      return null;
    }
    return value;
  }

  private counted(batch: RowBatch): RowBatch {
    this.fileHash.update(batch.data);
    this.fileBytes += batch.data.length;
    this.fileRows += batch.rows;
    return batch;
  }
}
