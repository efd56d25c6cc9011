import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TableChunker } from '../../src/export/chunker';
import { RowBatch } from '../../src/export/copy-out';
import { RowScanner } from '../../src/export/row-scanner';

/** CSV as Postgres writes it: a quoted field holding newlines and doubled quotes. */
const CSV_ROWS = ['id,body\n', '1,plain\n', '2,"two\nlines, ""quoted"""\n', '3,"x\n\ny"\n', '4,last\n'];
const CSV = CSV_ROWS.join('');

/** COPY output as CopyOutStream yields it: batches of `rowsPerBatch` whole rows. */
async function* batches(rows: string[], rowsPerBatch: number): AsyncGenerator<RowBatch> {
  for (let i = 0; i < rows.length; i += rowsPerBatch) {
    const slice = rows.slice(i, i + rowsPerBatch);
    yield { data: Buffer.from(slice.join('')), rows: slice.length };
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const part of stream) text += (part as Buffer).toString();
  return text;
}

describe('RowScanner', () => {
  it('counts CSV rows whatever the buffer boundaries, ignoring newlines inside quotes', () => {
    for (let size = 1; size <= CSV.length; size++) {
      const scanner = new RowScanner('csv');
      let rows = 0;
      for (let i = 0; i < CSV.length; i += size) rows += scanner.scan(Buffer.from(CSV.slice(i, i + size))).rows;
      expect(rows, `buffers of ${size}`).toBe(5);
      expect(scanner.atRowBoundary).toBe(true);
    }
  });

  it('reports the last row end inside a buffer', () => {
    const scanner = new RowScanner('csv');
    expect(scanner.scan(Buffer.from('a,"b\nc"\nd,e'))).toEqual({ rows: 1, lastRowEnd: 8 });
    expect(scanner.scan(Buffer.from('"open'))).toEqual({ rows: 0, lastRowEnd: -1 });
    expect(scanner.atRowBoundary).toBe(false);
  });

  it('counts JSON Lines rows by newline', () => {
    expect(new RowScanner('jsonl').scan(Buffer.from('{"a":"x\\ny"}\n{"a":1}\n'))).toEqual({ rows: 2, lastRowEnd: 21 });
  });
});

describe('TableChunker', () => {
  it('cuts chunks only between batches of rows and loses or repeats no byte', async () => {
    for (const rowsPerBatch of [1, 2, 3, 5]) {
      for (const chunkBytes of [1, 10, 25, 1000]) {
        const chunker = new TableChunker(batches(CSV_ROWS, rowsPerBatch), chunkBytes);
        const parts: Array<{ text: string; rows: number; fileSha256: string | null }> = [];
        do {
          const { stream, stats } = chunker.nextChunk();
          const text = await collect(stream);
          parts.push({ text, rows: stats.rows, fileSha256: stats.fileSha256 });
        } while (await chunker.hasMore());
        const label = `batches of ${rowsPerBatch} rows, chunks of ${chunkBytes}`;
        expect(parts.map((p) => p.text).join(''), label).toBe(CSV);
        let sofar = '';
        for (const part of parts) {
          sofar += part.text;
          // Each chunk's digest is the file's so far; the last one is the file's.
          expect(part.fileSha256, label).toBe(sha256(sofar));
          expect(part.text.endsWith('\n'), label).toBe(true);
          // What decrypt counts (newlines outside quotes) agrees with the rows the chunker recorded.
          expect(new RowScanner('csv').scan(Buffer.from(part.text)).rows, label).toBe(part.rows);
        }
        expect(chunker.fileRows).toBe(5);
        expect(chunker.fileBytes).toBe(CSV.length);
        expect(chunker.fileHash.digest('hex')).toBe(sha256(CSV));
        if (chunkBytes >= 1000) expect(parts).toHaveLength(1);
      }
    }
  });

  it('hands out one empty chunk for an empty COPY', async () => {
    const chunker = new TableChunker(batches([], 1), 10);
    const { stream, stats } = chunker.nextChunk();
    expect(await collect(stream)).toBe('');
    expect(stats).toMatchObject({ rows: 0, bytes: 0 });
    expect(await chunker.hasMore()).toBe(false);
  });
});
