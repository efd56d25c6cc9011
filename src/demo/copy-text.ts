/**
 * Postgres COPY text format (the default of `COPY … FROM STDIN`): one line
 * per row, tab-separated, `\N` for NULL, and backslash escapes for the
 * characters that would otherwise end a field or a row.
 */

export const COPY_NULL = '\\N';

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_GLOBAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field, escaped; most demo values contain nothing to escape, so test first. */
export function copyField(value: string | number | null): string {
  if (value === null) return COPY_NULL;
  if (typeof value === 'number') return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIAL_GLOBAL, (c) => ESCAPES[c]) : value;
}

/** One row: fields escaped, tab-joined, newline-terminated. */
export function copyLine(fields: Array<string | number | null>): string {
  let line = copyField(fields[0]);
  for (let i = 1; i < fields.length; i++) line += '\t' + copyField(fields[i]);
  return line + '\n';
}

const DAY_SECONDS = 86_400;
let cachedDay = Number.NaN;
let cachedDatePrefix = '';

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * ISO 8601 in UTC (`2025-03-01T12:00:00Z`), which timestamptz reads the same
 * under any TimeZone setting. Date.toISOString was a fifth of the generator's
 * time; rows arrive in time order, so the date part is cached per day.
 */
export function timestampText(epochSeconds: number): string {
  const day = Math.floor(epochSeconds / DAY_SECONDS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDatePrefix = new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 11);
  }
  const second = epochSeconds - day * DAY_SECONDS;
  const h = Math.floor(second / 3600);
  const m = Math.floor((second % 3600) / 60);
  return `${cachedDatePrefix}${twoDigits(h)}:${twoDigits(m)}:${twoDigits(second % 60)}Z`;
}
