import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { Config, PROJECT_ROOT } from '../config';
import { COLUMN_STRATEGIES, DataMap } from '../datamap/datamap.types';
import { localEndpoints } from '../stack/endpoints';
import { keyNode } from '../yaml-key-node';
import { checkPoliciesAgainstMap, checkTableFields } from './policy-checks';
import { RetentionConfigError, RetentionProblem } from './retention-config.error';
import { RetentionPolicy } from './retention.types';
import { checkCron } from './schedule-window';

/** The demo application's policies (audit events live a year). */
export const DEMO_RETENTION_CONFIG = join(PROJECT_ROOT, 'src', 'retention', 'demo-retention.yaml');

/**
 * RETENTION_CONFIG, else the demo file when DATABASE_URL is the local stack's
 * demo database (so `npm start` has a policy to show), else none: no policies,
 * nothing scheduled.
 */
export function retentionConfigPath(config: Pick<Config, 'DATABASE_URL' | 'RETENTION_CONFIG'>): string | undefined {
  if (config.RETENTION_CONFIG) return config.RETENTION_CONFIG;
  return config.DATABASE_URL === localEndpoints().demoUrl ? DEMO_RETENTION_CONFIG : undefined;
}

/** Names end up in workflow ids and URLs. */
const POLICY_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const days = z.number('must be a whole number of days').int('must be a whole number of days').positive('must be > 0 (days)');
// YAML reads an unquoted `null` as null, not as the strategy's name.
const strategy = z.preprocess((v) => (v === null ? 'null' : v), z.enum(COLUMN_STRATEGIES, { error: `must be one of ${COLUMN_STRATEGIES.join(', ')}` }));
const tenantId = z.union([z.string().min(1), z.number().int()]).transform(String);

const PolicySchema = z.strictObject({
  table: z.string().min(1),
  /** default: the table's retention rule in the data map */
  ageColumn: z.string().min(1).optional(),
  maxAgeDays: days.optional(),
  tenants: z.strictObject({ tiers: z.array(z.string().min(1)).min(1).optional(), ids: z.array(tenantId).min(1).optional() })
    .refine((t) => (t.tiers === undefined) !== (t.ids === undefined), 'give either tiers or ids (omit `tenants` for every tenant)')
    .optional(),
  action: z.enum(['delete', 'anonymize']).default('delete'),
  columns: z.record(z.string(), strategy).optional(),
  batch: z.strictObject({ maxRows: z.number().int().min(1).max(100_000).optional(), pauseMs: z.number().int().min(0).max(60_000).optional() }).default({}),
  schedule: z.string({ error: 'required: a cron expression, e.g. "0 3 * * *" (daily at 03:00)' }).min(1),
  timeZone: z.string().min(1).default('UTC'),
  catchUp: z.enum(['last', 'none']).default('last'),
  concurrency: z.number().int().min(1).max(16).default(2),
  overrides: z.record(z.string(), z.strictObject({ maxAgeDays: days, reason: z.string().min(1).max(500).optional() })).default({}),
}).superRefine((policy, ctx) => {
  if (policy.action === 'anonymize' && !policy.columns) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'action anonymize needs columns: { column: strategy }' });
  if (policy.columns && policy.action !== 'anonymize') ctx.addIssue({ code: 'custom', path: ['columns'], message: 'column strategies need action: anonymize' });
  const cronProblem = checkCron(policy.schedule, policy.timeZone);
  if (cronProblem) ctx.addIssue({ code: 'custom', path: [cronProblem.field], message: cronProblem.message });
});

/** The file around the policies; each policy is parsed on its own, so one bad policy does not hide another's problems. */
const FileSchema = z.strictObject({
  /** the tenants table's column a `tenants: { tiers }` filter reads */
  tierColumn: z.string().min(1).optional(),
  policies: z.record(z.string(), z.unknown()),
});

export type PolicyEntry = z.infer<typeof PolicySchema>;
export interface RetentionFile {
  tierColumn?: string;
  policies: Record<string, PolicyEntry>;
}

/** What the table checks need, from a policy whose other fields failed. */
const TableFields = z.object({ table: z.string().min(1), ageColumn: z.string().min(1).optional() });

export function loadRetentionPolicies(file: string, map: DataMap): RetentionPolicy[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RetentionConfigError(file, [{ path: [], message: `cannot read the file: ${(error as Error).message}` }]);
  }
  return parseRetentionPolicies(text, file, map);
}

/** Parses and checks the file: its shape with zod, then every policy against the data map. Throws listing every problem. */
export function parseRetentionPolicies(text: string, file: string, map: DataMap): RetentionPolicy[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new RetentionConfigError(file, doc.errors.map((e) => ({ path: [], line: lines.linePos(e.pos[0]).line, message: `YAML syntax error: ${e.message}` })));
  }
  const lineOf = (path: ReadonlyArray<PropertyKey>): number | undefined => {
    const node = keyNode(doc.contents, path);
    return node?.range ? lines.linePos(node.range[0]).line : undefined;
  };
  const locate = (problems: RetentionProblem[]) => problems.map((p) => ({ ...p, line: p.line ?? lineOf(p.path) }));
  const shape = FileSchema.safeParse(doc.toJS() ?? {});
  if (!shape.success) throw new RetentionConfigError(file, locate(toProblems(shape.error.issues, [])));
  const problems: RetentionProblem[] = [];
  const entries: Record<string, PolicyEntry> = {};
  for (const [name, raw] of Object.entries(shape.data.policies)) {
    if (!POLICY_NAME.test(name)) {
      problems.push({ path: ['policies', name], message: 'a policy name is 1–63 of a-z, 0-9, `-`, `_`, starting with a letter or digit' });
      continue;
    }
    const parsed = PolicySchema.safeParse(raw);
    if (parsed.success) {
      entries[name] = parsed.data;
      continue;
    }
    const found = toProblems(parsed.error.issues, ['policies', name]);
    // The data map checks of table and age column still run: one start reports a misspelt column along with a bad max age.
    const fields = TableFields.safeParse(raw);
    if (fields.success) {
      checkTableFields(fields.data, map, (field, message) => {
        const path = ['policies', name, ...field];
        if (!found.some((p) => p.path.join('.') === path.join('.'))) found.push({ path, message });
      });
    }
    problems.push(...found);
  }
  const checked = checkPoliciesAgainstMap({ tierColumn: shape.data.tierColumn, policies: entries }, map);
  problems.push(...checked.problems);
  if (problems.length > 0) throw new RetentionConfigError(file, locate(problems));
  return checked.policies;
}

function toProblems(issues: z.core.$ZodIssue[], prefix: PropertyKey[]): RetentionProblem[] {
  return issues.flatMap((issue): RetentionProblem[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...prefix, ...issue.path, key], message: `unknown key "${key}"` }))
      : [{ path: [...prefix, ...issue.path], message: issue.message }]);
}

