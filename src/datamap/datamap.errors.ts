/** One thing wrong with a data map config file, located as precisely as we can. */
export interface ConfigProblem {
  /** where in the file, e.g. `tables.invoices.columns.bogus`; '' for the whole file */
  path: string;
  /** 1-based line in the file, when known */
  line?: number;
  column?: number;
  message: string;
}

/**
 * A data map config file that cannot be used. Lists every problem at once,
 * each as `file:line: path: problem`, so an editor or CI log can jump to it.
 */
export class DatamapConfigError extends Error {
  /** in file order; problems without a line last */
  readonly problems: ConfigProblem[];

  constructor(
    readonly file: string,
    problems: ConfigProblem[],
  ) {
    const sorted = sortByLine(problems);
    super(
      `Invalid data map config ${file} (${sorted.length} problem${sorted.length === 1 ? '' : 's'}):\n` +
        sorted.map((problem) => `  - ${formatProblem(file, problem)}`).join('\n'),
    );
    this.name = 'DatamapConfigError';
    this.problems = sorted;
  }
}

function formatProblem(file: string, { path, line, column, message }: ConfigProblem): string {
  const where = line === undefined ? file : column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
  return path ? `${where}: ${path}: ${message}` : `${where}: ${message}`;
}

/** In file order, like a compiler; problems without a line (whole file) last. */
function sortByLine(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

/**
 * The database does not look like a multi-tenant schema we can map, e.g. no
 * table has the tenant column. The message says which setting to change.
 */
export class DatamapDiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatamapDiscoveryError';
  }
}

/** `tables.invoices.columns`, with keys that contain dots bracketed: `tables["public.invoices"]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const text = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(text)) return i === 0 ? text : `.${text}`;
      return `[${JSON.stringify(text)}]`;
    })
    .join('');
}
