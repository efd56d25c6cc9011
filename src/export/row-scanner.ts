import { ExportFormat } from './export.types';

const LF = 0x0a;
const QUOTE = 0x22;

export interface ScanResult {
  /** rows that ended inside the buffer */
  rows: number;
  /** offset just past the last row end in the buffer; -1 when none ended */
  lastRowEnd: number;
}

/**
 * Finds row ends in a stream of COPY output, buffer by buffer, so the
 * exporter can cut chunks between rows and both sides can count rows without
 * parsing fields. CSV from Postgres quotes any field holding a newline and
 * doubles quotes inside, so a newline ends a row exactly when an even number
 * of quotes precede it; JSON Lines rows end at every newline (JSON escapes
 * its own). Runs on indexOf, not byte by byte.
 */
export class RowScanner {
  private inQuotes = false;

  constructor(private readonly format: ExportFormat) {}

  scan(buf: Buffer): ScanResult {
    return this.format === 'csv' ? this.scanCsv(buf) : scanLines(buf);
  }

  /** True when the input so far ends between rows (a cut here splits no field). */
  get atRowBoundary(): boolean {
    return !this.inQuotes;
  }

  private scanCsv(buf: Buffer): ScanResult {
    let rows = 0;
    let lastRowEnd = -1;
    let pos = 0;
    // Cached next positions, so no region is searched twice.
    let nextQuote = -2;
    let nextLf = -2;
    while (pos < buf.length) {
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = buf.indexOf(QUOTE, pos);
      if (this.inQuotes) {
        if (nextQuote === -1) break;
        this.inQuotes = false;
        pos = nextQuote + 1;
        continue;
      }
      if (nextLf !== -1 && nextLf < pos) nextLf = buf.indexOf(LF, pos);
      if (nextLf === -1 && nextQuote === -1) break;
      if (nextQuote !== -1 && (nextLf === -1 || nextQuote < nextLf)) {
        this.inQuotes = true;
        pos = nextQuote + 1;
      } else {
        rows++;
        lastRowEnd = nextLf + 1;
        pos = lastRowEnd;
      }
    }
    return { rows, lastRowEnd };
  }
}

function scanLines(buf: Buffer): ScanResult {
  let rows = 0;
  let lastRowEnd = -1;
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) {
    rows++;
    lastRowEnd = i + 1;
  }
  return { rows, lastRowEnd };
}

/** Rows of a file are its lines minus the CSV header line. */
export function headerRows(format: ExportFormat): number {
  return format === 'csv' ? 1 : 0;
}
