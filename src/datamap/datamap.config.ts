import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { Config, PROJECT_ROOT } from '../config';
import { localEndpoints } from '../stack/endpoints';
import { keyNode } from '../yaml-key-node';
import { COLUMN_STRATEGIES } from './datamap.types';
import { ConfigProblem, DatamapConfigError, formatPath } from './datamap.errors';

/** The demo application's overrides (invoices are kept, anonymized). */
export const DEMO_DATAMAP_CONFIG = join(PROJECT_ROOT, 'src', 'datamap', 'demo-datamap.yaml');

/**
 * The override file for the configured database: DATAMAP_CONFIG, else the
 * demo file when DATABASE_URL is the local stack's demo database (so
 * `npm start` anonymizes the demo's invoices), else none.
 */
export function datamapConfigPath(config: Pick<Config, 'DATABASE_URL' | 'DATAMAP_CONFIG'>): string | undefined {
  if (config.DATAMAP_CONFIG) return config.DATAMAP_CONFIG;
  return config.DATABASE_URL === localEndpoints().demoUrl ? DEMO_DATAMAP_CONFIG : undefined;
}

// YAML reads an unquoted `null` as null, not as the strategy's name.
const ColumnStrategySchema = z.preprocess(
  (value) => (value === null ? 'null' : value),
  z.enum(COLUMN_STRATEGIES, { error: `must be one of ${COLUMN_STRATEGIES.join(', ')}` }),
);

const TableOverrideSchema = z
  .strictObject({
    /** `global` forces a table out of the map; `tenant`/`child` assert what discovery must find */
    kind: z.enum(['tenant', 'child', 'global']).optional(),
    action: z.enum(['delete', 'anonymize']).optional(),
    columns: z.record(z.string(), ColumnStrategySchema).optional(),
    /** replaces the discovered subject columns */
    subjectColumns: z.array(z.string().min(1)).optional(),
    retention: z
      .strictObject({ ageColumn: z.string().min(1), maxAgeDays: z.number().int().positive() })
      .optional(),
  })
  .superRefine((table, ctx) => {
    if (table.action === 'anonymize' && !table.columns) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'action anonymize needs columns: { column: strategy }' });
    }
    if (table.columns && table.action !== 'anonymize') {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'column strategies need action: anonymize' });
    }
  });

export const DatamapFileSchema = z.strictObject({
  tenantColumn: z.string().min(1).optional(),
  tenantsTable: z
    .union([z.string().min(1), z.strictObject({ name: z.string().min(1), keyColumn: z.string().min(1).optional() })])
    .optional(),
  schemas: z.array(z.string().min(1)).min(1).optional(),
  subject: z.strictObject({ table: z.string().min(1), identityColumns: z.array(z.string().min(1)).min(1) }).optional(),
  /** keyed by `name` or `schema.name` */
  tables: z.record(z.string(), TableOverrideSchema).optional(),
});

export type DatamapOverrides = z.infer<typeof DatamapFileSchema>;
export type TableOverride = z.infer<typeof TableOverrideSchema>;

/** A parsed override file that can still say where each of its parts is. */
export interface DatamapConfigFile {
  file: string;
  overrides: DatamapOverrides;
  /** the 1-based line of the key at `path`, for messages about it */
  lineOf(path: ReadonlyArray<PropertyKey>): number | undefined;
}

export function loadDatamapConfig(file: string): DatamapConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DatamapConfigError(file, [{ path: '', message: `cannot read the file: ${(error as Error).message}` }]);
  }
  return parseDatamapConfig(text, file);
}

/** Parses YAML text; `file` names it in errors. Throws DatamapConfigError listing every problem. */
export function parseDatamapConfig(text: string, file: string): DatamapConfigFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new DatamapConfigError(
      file,
      doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: '', line, column: col, message: `YAML syntax error: ${error.message}` };
      }),
    );
  }
  const lineOf = (path: ReadonlyArray<PropertyKey>) => {
    const node = keyNode(doc.contents, path);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const parsed = DatamapFileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new DatamapConfigError(file, parsed.error.issues.flatMap((issue) => describeIssue(issue, lineOf)));
  }
  return { file, overrides: parsed.data, lineOf };
}

function describeIssue(issue: z.core.$ZodIssue, lineOf: DatamapConfigFile['lineOf']): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    // One problem per key, each pointing at the key's own line.
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return { path: formatPath(path), line: lineOf(path), message: `unknown key "${key}"` };
    });
  }
  return [{ path: formatPath(issue.path), line: lineOf(issue.path), message: issue.message }];
}

