import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import type { Connection } from 'pg';
import { describe, expect, it } from 'vitest';
import { BATCH_BYTES, CopyOutStream, RowBatch } from '../../src/export/copy-out';

/** One protocol message: type byte, Int32 length (itself included), payload. */
function message(code: string, payload: Buffer | string = ''): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(5);
  header[0] = code.charCodeAt(0);
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const ROWS = ['id,body\n', '1,plain\n', '2,"two\nlines, ""quoted"""\n', '3,"x\n\ny"\n', '4,last\n'];
/** What pg still has to parse after the copy: CommandComplete and ReadyForQuery. */
const TRAILER = Buffer.concat([message('C', 'COPY 4\0'), message('Z', 'I')]);

function copyOutBytes(rows: string[] | Buffer[], extra: Buffer[] = []): Buffer {
  return Buffer.concat([message('H', Buffer.alloc(3)), ...extra, ...rows.map((r) => message('d', r)), message('c'), TRAILER]);
}

/** pg's side of the connection: a socket with pg's parser as its one data listener. */
function fakeConnection() {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (data: Buffer) => handedBack.push(data));
  const connection = Object.assign(new EventEmitter(), { stream: socket, query: () => undefined }) as unknown as Connection;
  return { connection, socket, handedBack };
}

/** Feeds `bytes` to a CopyOutStream in pieces of `size` (one socket read each) and collects what it yields. */
async function runCopy(bytes: Buffer, size: number): Promise<{ batches: RowBatch[]; handedBack: Buffer }> {
  const { connection, socket, handedBack } = fakeConnection();
  const copy = new CopyOutStream('COPY t TO STDOUT');
  copy.submit(connection);
  const batches: RowBatch[] = [];
  const collected = (async () => {
    for await (const batch of copy) batches.push(batch as RowBatch);
  })();
  for (let i = 0; i < bytes.length; i += size) {
    socket.write(bytes.subarray(i, i + size));
    await tick();
  }
  // pg would now parse CommandComplete from what it was handed back, and tell the query.
  copy.handleCommandComplete({ text: 'COPY 4' });
  await collected;
  return { batches, handedBack: Buffer.concat(handedBack) };
}

describe('CopyOutStream', () => {
  it('yields every row byte once, in batches that end between rows, whatever the read boundaries', async () => {
    const bytes = copyOutBytes(ROWS, [message('N', 'notice\0')]);
    const rowEnds = new Set(ROWS.map((_, i) => ROWS.slice(0, i + 1).join('').length));
    for (let size = 1; size <= bytes.length; size++) {
      const { batches, handedBack } = await runCopy(Buffer.from(bytes), size);
      const label = `reads of ${size} bytes`;
      expect(Buffer.concat(batches.map((b) => b.data)).toString(), label).toBe(ROWS.join(''));
      expect(batches.reduce((n, b) => n + b.rows, 0), label).toBe(ROWS.length);
      let offset = 0;
      for (const batch of batches) {
        offset += batch.data.length;
        expect(rowEnds.has(offset), `${label}: a batch ends at ${offset}, inside a row`).toBe(true);
      }
      expect(handedBack.equals(TRAILER), label).toBe(true);
    }
  });

  it('cuts batches of about BATCH_BYTES and grows for a row larger than that', async () => {
    const small = Array.from({ length: 5000 }, (_, i) => `${i},${'x'.repeat(100)}\n`);
    const huge = `5000,${'y'.repeat(3 * BATCH_BYTES)}\n`;
    const rows = [...small, huge, ...small];
    const { batches } = await runCopy(copyOutBytes(rows), 8192);
    expect(Buffer.concat(batches.map((b) => b.data)).toString()).toBe(rows.join(''));
    expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(rows.length);
    expect(batches.length).toBeGreaterThan(3);
    for (const batch of batches.slice(0, -1)) expect(batch.data.length).toBeGreaterThanOrEqual(BATCH_BYTES);
  });

  it('hands an error back to pg, header included, and fails with the error pg reports', async () => {
    const { connection, socket, handedBack } = fakeConnection();
    const copy = new CopyOutStream('COPY t TO STDOUT');
    copy.submit(connection);
    const error = message('E', 'SERROR\0');
    const failed = (async () => {
      for await (const _ of copy) void _;
    })();
    socket.write(Buffer.concat([message('H', Buffer.alloc(3)), message('d', '1\n'), error]));
    await tick();
    expect(Buffer.concat(handedBack).equals(error)).toBe(true);
    copy.handleError(new Error('canceling statement due to user request'));
    await expect(failed).rejects.toThrow(/canceling statement/);
  });
});
