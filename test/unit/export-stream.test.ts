import { describe, expect, it } from 'vitest';
import { TableChunker } from '../../src/export/chunker';
import { RowScanner } from '../../src/export/row-scanner';

/** CSV as Postgres writes it: a quoted field holding newlines and doubled quotes. */
const CSV = 'id,body\n1,plain\n2,"two\nlines, ""quoted"""\n3,"x\n\ny"\n4,last\n';

async function* buffers(text: string, size: number): AsyncGenerator<Buffer> {
  const data = Buffer.from(text);
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

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
  it('cuts chunks only between rows and loses or repeats no byte', async () => {
    for (const size of [1, 3, 7, 64]) {
      for (const chunkBytes of [1, 10, 25, 1000]) {
        const chunker = new TableChunker(buffers(CSV, size), new RowScanner('csv'), chunkBytes);
        const parts: Array<{ text: string; rows: number }> = [];
        do {
          const { stream, stats } = chunker.nextChunk();
          parts.push({ text: await collect(stream), rows: stats.rows });
        } while (await chunker.hasMore());
        const label = `buffers of ${size}, chunks of ${chunkBytes}`;
        expect(parts.map((p) => p.text).join(''), label).toBe(CSV);
        for (const part of parts) {
          expect(part.text.endsWith('\n'), label).toBe(true);
          expect(new RowScanner('csv').scan(Buffer.from(part.text)).rows, label).toBe(part.rows);
        }
        expect(chunker.fileRows).toBe(5);
        if (chunkBytes >= 1000) expect(parts).toHaveLength(1);
      }
    }
  });

  it('hands out one empty chunk for an empty COPY', async () => {
    const chunker = new TableChunker(buffers('', 8), new RowScanner('jsonl'), 10);
    const { stream, stats } = chunker.nextChunk();
    expect(await collect(stream)).toBe('');
    expect(stats).toMatchObject({ rows: 0, bytes: 0 });
    expect(await chunker.hasMore()).toBe(false);
  });
});
