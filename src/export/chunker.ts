import { createHash, Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { RowScanner } from './row-scanner';

export interface ChunkStats {
  /** row ends inside the chunk (the CSV header counts as one) */
  rows: number;
  bytes: number;
  sha256: Hash;
}

/**
 * Cuts one table's COPY output into chunks of about `chunkBytes`, always
 * between rows, while hashing the whole file and each chunk on the way. Each
 * chunk is a Readable pulling from the shared COPY iterator, so backpressure
 * runs from S3 all the way back to Postgres and at most one COPY buffer is
 * held here (the tail of a buffer that crossed a cut).
 */
export class TableChunker {
  readonly fileHash = createHash('sha256');
  fileBytes = 0;
  fileRows = 0;
  /** bytes read but not yet handed out; `scanned` when the row scanner has seen them */
  private carry: { buffer: Buffer; scanned: boolean } | null = null;
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly scanner: RowScanner,
    private readonly chunkBytes: number,
    private readonly onData: (fileBytes: number, fileRows: number) => void = () => undefined,
  ) {}

  /** True when the COPY has more bytes after the chunks handed out so far. */
  async hasMore(): Promise<boolean> {
    if (this.carry) return true;
    const next = await this.pull();
    if (next === null) return false;
    this.carry = { buffer: next, scanned: false };
    return true;
  }

  /** The next chunk as a stream; its stats are final once the stream ends. */
  nextChunk(): { stream: Readable; stats: ChunkStats } {
    const stats: ChunkStats = { rows: 0, bytes: 0, sha256: createHash('sha256') };
    const stream = Readable.from(this.chunkBuffers(stats), { objectMode: false });
    return { stream, stats };
  }

  private async *chunkBuffers(stats: ChunkStats): AsyncGenerator<Buffer> {
    for (;;) {
      const carried = this.carry;
      this.carry = null;
      const buffer = carried ? carried.buffer : await this.pull();
      if (buffer === null) return;
      // A tail left by a cut holds no row end: scanning it again would double-count quotes.
      const { rows, lastRowEnd } = carried?.scanned ? { rows: 0, lastRowEnd: -1 } : this.scanner.scan(buffer);
      this.fileRows += rows;
      stats.rows += rows;
      const full = stats.bytes + buffer.length >= this.chunkBytes && lastRowEnd > 0;
      const head = full ? buffer.subarray(0, lastRowEnd) : buffer;
      stats.bytes += head.length;
      stats.sha256.update(head);
      this.onData(this.fileBytes, this.fileRows);
      if (head.length > 0) yield head;
      if (full) {
        // The tail holds no row end (lastRowEnd was the last), so its rows are already counted.
        if (lastRowEnd < buffer.length) this.carry = { buffer: buffer.subarray(lastRowEnd), scanned: true };
        return;
      }
    }
  }

  /** Reads one COPY buffer, hashing it into the file digest exactly once. */
  private async pull(): Promise<Buffer | null> {
    if (this.ended) return null;
    const { value, done } = await this.source.next();
    if (done) {
      this.ended = true;
      return null;
    }
    this.fileHash.update(value);
    this.fileBytes += value.length;
    return value;
  }
}
