/** One thing wrong with the retention config file; `path` is where, e.g. ['policies', 'audit-events', 'maxAgeDays']. */
export interface RetentionProblem {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  /** 1-based, when known */
  line?: number;
}

/**
 * A retention config the service refuses to start with. Every problem is
 * listed at once, each naming the policy and the field, e.g.
 * `retention.yaml:9: policy "audit-events", field maxAgeDays: must be > 0`.
 */
export class RetentionConfigError extends Error {
  /** in file order; problems without a line last */
  readonly problems: RetentionProblem[];

  constructor(readonly file: string, problems: RetentionProblem[]) {
    const sorted = [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    super(`Invalid retention config ${file} (${sorted.length} problem${sorted.length === 1 ? '' : 's'}):\n` +
      sorted.map((p) => `  - ${file}${p.line ? `:${p.line}` : ''}: ${describePath(p.path)}${p.message}`).join('\n') +
      '\nFix the file named by RETENTION_CONFIG (or unset it), then start again.');
    this.name = 'RetentionConfigError';
    this.problems = sorted;
  }
}

function describePath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '';
  if (path[0] === 'policies' && path.length >= 2) {
    const field = path.slice(2).map(String).join('.');
    return `policy "${String(path[1])}"${field ? `, field ${field}` : ''}: `;
  }
  return `${path.map(String).join('.')}: `;
}
