import type { RequestView } from '../requests/request.types';

const WIDTH = 30;

/** `[#######-------]  45%  running  users: 12,000 rows` — one line, redrawn in place on a terminal. */
export function progressLine(request: RequestView): string {
  const progress = (request.progress ?? {}) as { percent?: number; table?: string; rows?: number; bytes?: number; stage?: string };
  // What moves: the table a COPY is on, or else the stage (a restore's `replay`, an erasure's `verifying`).
  const detail = progress.table ? `  ${progress.table}: ${(progress.rows ?? 0).toLocaleString('en-US')} rows`
    : progress.stage && request.status === 'running' ? `  ${progress.stage}` : '';
  if (progress.percent === undefined && request.status !== 'succeeded') return `${request.status}${detail}`;
  const percent = request.status === 'succeeded' ? 100 : Math.max(0, Math.min(100, Math.floor(progress.percent ?? 0)));
  const filled = Math.round((percent / 100) * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}]`;
  return `${bar} ${String(percent).padStart(3)}%  ${request.status}${detail}`;
}

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (request: RequestView) => void {
  let last = '';
  return (request) => {
    const line = progressLine(request);
    if (line === last) return;
    last = line;
    stream.write(stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  };
}
