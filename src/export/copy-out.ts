import { Duplex, Readable } from 'node:stream';
import type { Connection, Submittable } from 'pg';

/** Whole rows of COPY output, and how many. */
export interface RowBatch {
  data: Buffer;
  rows: number;
}

/** Rows are handed on in batches of about this size: one 8 KiB socket read per hop would cost more than the work. */
export const BATCH_BYTES = 256 * 1024;
/** Room for the run of rows (one socket read, at most 64 KiB) that crosses the batch size; a longer row grows the batch. */
const RUN_BYTES = 64 * 1024;

// Protocol message types seen while the server is in copy-out mode.
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
// Asynchronous messages the server may interleave (protocol docs, "COPY Operations"): skipped.
const INTERLEAVED = new Set([0x48 /* H CopyOutResponse */, 0x53 /* S ParameterStatus */, 0x4e /* N Notice */, 0x41 /* A Notification */]);
const HEADER_BYTES = 5;

/**
 * `COPY … TO STDOUT` as a stream of row batches, read straight off the
 * connection. The server sends exactly one CopyData message per row (protocol
 * docs, "Copy-out mode … always one per row"), so message boundaries are row
 * boundaries: rows are counted and batches cut between rows without looking
 * at a byte of the data, for CSV with quoted newlines as for anything else
 * (the row-by-row CSV scan this replaces cost more than gzip's share of the
 * main thread).
 *
 * The connection hand-over follows pg-copy-streams (MIT): take the socket's
 * `data` listener away from pg while the copy runs, give it back with the
 * bytes after CopyDone (or from an ErrorResponse on, so pg reports the error).
 * The stream ends once the server's CommandComplete gave its row count.
 */
export class CopyOutStream extends Readable implements Submittable {
  /** rows the server reported in CommandComplete; valid once the stream ended */
  rowCount = 0;
  private connection: Connection | null = null;
  private pgDataHandler: ((data: Buffer) => void) | null = null;
  private readonly onReadable = () => this.pull();
  private wanted = false;
  private pulling = false;
  private copying = true;
  // Parser state: the current message's header (it may straddle reads) and the payload bytes still to come.
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerBytes = 0;
  private code = 0;
  private remaining = 0;
  // The batch being filled: whole rows, then the start of the row being read.
  private batch: Buffer;
  private used = 0;
  private rows = 0;

  /** `batchBytes`: hand rows on once this many have gathered (a small chunk size wants small batches). */
  constructor(readonly text: string, private readonly batchBytes = BATCH_BYTES) {
    super({ objectMode: true, highWaterMark: 2 });
    this.batch = Buffer.allocUnsafe(batchBytes + RUN_BYTES);
  }

  submit(connection: Connection): void {
    this.connection = connection;
    const socket = this.socket();
    const listeners = socket.listeners('data') as Array<(data: Buffer) => void>;
    // pg parses everything the socket emits; while the copy runs, we do instead.
    if (listeners.length !== 1) throw new Error(`expected pg's one data listener on the socket, found ${listeners.length}`);
    this.pgDataHandler = listeners[0];
    socket.removeListener('data', this.pgDataHandler);
    socket.pause();
    socket.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.wanted = true;
    this.pull();
  }

  /** Reads socket data while the consumer wants more. */
  private pull(): void {
    if (this.pulling || !this.copying || !this.connection) return;
    this.pulling = true;
    const socket = this.socket();
    let data: Buffer | null;
    while (this.wanted && this.copying && (data = socket.read() as Buffer | null) !== null) this.parse(data);
    this.pulling = false;
  }

  private parse(data: Buffer): void {
    let pos = 0;
    while (pos < data.length && this.copying) {
      if (this.headerBytes === 0) pos = this.readWholeRows(data, pos);
      if (pos === data.length) return;
      if (this.headerBytes < HEADER_BYTES) pos = this.readHeader(data, pos);
      else pos = this.readPayload(data, pos);
    }
  }

  /**
   * The fast path: every CopyData message lying whole in `data` from `pos`
   * on. Payloads are moved left over the headers between them, inside the
   * socket's own buffer (nobody else reads it), then appended to the batch
   * with one copy: a copy per row would cost more than the rest of the parse.
   */
  private readWholeRows(data: Buffer, pos: number): number {
    const runStart = pos + HEADER_BYTES;
    let runEnd = runStart;
    let rows = 0;
    while (pos + HEADER_BYTES <= data.length && data[pos] === COPY_DATA) {
      const payload = pos + HEADER_BYTES;
      const payloadEnd = payload + data.readUInt32BE(pos + 1) - 4;
      if (payloadEnd > data.length) break;
      if (payload !== runEnd) data.copyWithin(runEnd, payload, payloadEnd);
      runEnd += payloadEnd - payload;
      rows++;
      pos = payloadEnd;
    }
    if (rows > 0) {
      this.append(data, runStart, runEnd);
      this.rows += rows;
      if (this.used >= this.batchBytes) this.flush();
    }
    return pos;
  }

  /** A message header, byte by byte if it straddles two reads. */
  private readHeader(data: Buffer, pos: number): number {
    const n = Math.min(HEADER_BYTES - this.headerBytes, data.length - pos);
    data.copy(this.header, this.headerBytes, pos, pos + n);
    this.headerBytes += n;
    pos += n;
    if (this.headerBytes < HEADER_BYTES) return pos;
    this.code = this.header[0];
    this.remaining = this.header.readUInt32BE(1) - 4;
    // An error (or anything unexpected) is pg's to parse and report, header included.
    if (this.code !== COPY_DATA && this.code !== COPY_DONE && !INTERLEAVED.has(this.code)) {
      this.handBack(Buffer.concat([this.header, data.subarray(pos)]));
      return data.length;
    }
    return this.remaining === 0 ? this.endMessage(data, pos) : pos;
  }

  /** Payload bytes of the current message (a row that straddles reads, or a message we skip). */
  private readPayload(data: Buffer, pos: number): number {
    const n = Math.min(this.remaining, data.length - pos);
    if (this.code === COPY_DATA) this.append(data, pos, pos + n);
    this.remaining -= n;
    pos += n;
    return this.remaining === 0 ? this.endMessage(data, pos) : pos;
  }

  private endMessage(data: Buffer, pos: number): number {
    this.headerBytes = 0;
    if (this.code === COPY_DATA) {
      this.rows++;
      if (this.used >= this.batchBytes) this.flush();
    } else if (this.code === COPY_DONE) {
      this.flush();
      this.handBack(data.subarray(pos));
      return data.length;
    }
    return pos;
  }

  private append(data: Buffer, start: number, end: number): void {
    const needed = this.used + (end - start);
    if (needed > this.batch.length) {
      // A row larger than the batch: grow for it (rows are at most 1 GB in Postgres).
      const bigger = Buffer.allocUnsafe(Math.max(needed, this.batch.length * 2));
      this.batch.copy(bigger, 0, 0, this.used);
      this.batch = bigger;
    }
    data.copy(this.batch, this.used, start, end);
    this.used = needed;
  }

  /** Pushes the whole rows gathered so far; called only between rows. */
  private flush(): void {
    if (this.rows === 0) return;
    const batch: RowBatch = { data: this.batch.subarray(0, this.used), rows: this.rows };
    this.batch = Buffer.allocUnsafe(this.batchBytes + RUN_BYTES);
    this.used = 0;
    this.rows = 0;
    if (!this.push(batch)) this.wanted = false;
  }

  /** Gives the connection back to pg with the bytes it has to parse (CommandComplete, or an error). */
  private handBack(rest: Buffer): void {
    this.copying = false;
    const socket = this.socket();
    socket.removeListener('readable', this.onReadable);
    socket.on('data', this.pgDataHandler!);
    this.pgDataHandler!(rest);
    // pg's handler may have paused the socket; resume once it returned (as pg-copy-streams does).
    process.nextTick(() => socket.resume());
  }

  handleCommandComplete(message: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(message?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
    this.push(null);
  }

  handleReadyForQuery(): void {}

  handleError(error: Error): void {
    this.destroy(error);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Cut short mid-copy, the connection is unusable: its owner destroys it. Stop reading from it meanwhile.
    if (this.copying && this.connection) this.socket().removeListener('readable', this.onReadable);
    this.copying = false;
    callback(error);
  }

  private socket(): Duplex {
    return this.connection!.stream;
  }
}
