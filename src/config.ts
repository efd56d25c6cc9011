import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { publicKeyProblem } from './auth/public-keys';
import { parseDurationMs } from './restore/pitr-window';
import { checkCron } from './retention/schedule-window';

/** The checkout's root: compiled code runs from dist/src, sources from src. */
export const PROJECT_ROOT = resolve(__dirname, __dirname.includes(`${join('dist', 'src')}`) ? '../..' : '..');

/**
 * Where the local stack keeps its data, logs and pids. Inside the checkout
 * (git-ignored) so two clones never share a database; the Go tool cache, which
 * is slow to build and safe to share, lives outside it.
 */
export function stackHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.COMPLIANCE_OPS_HOME ?? join(PROJECT_ROOT, '.stack');
}

export function toolsDir(): string {
  return process.env.COMPLIANCE_OPS_TOOLS ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'compliance-ops', 'bin');
}

const port = z.coerce.number().int().min(1).max(65535);

/** Ports of the local stack; all listen on 127.0.0.1 only. */
export const StackPortsSchema = z.object({
  COMPLIANCE_OPS_PG_PORT: port.default(55432),
  COMPLIANCE_OPS_TEMPORAL_PORT: port.default(7233),
  COMPLIANCE_OPS_TEMPORAL_UI_PORT: port.default(8233),
  COMPLIANCE_OPS_S3_PORT: port.default(9010),
  COMPLIANCE_OPS_S3_CONSOLE_PORT: port.default(9011),
  COMPLIANCE_OPS_KMS_PORT: port.default(4599),
  PORT: port.default(3100),
});

export type StackPorts = z.infer<typeof StackPortsSchema>;

export function stackPorts(env: NodeJS.ProcessEnv = process.env): StackPorts {
  return parseOrThrow(StackPortsSchema, env, 'stack ports');
}

const ConfigSchema = z.object({
  DATABASE_URL: z.string().url().describe('the application database (tenant data)'),
  CATALOG_DATABASE_URL: z.string().url().describe("the service's own catalog database"),
  TEMPORAL_ADDRESS: z.string().min(3),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('compliance-ops'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  S3_EXPORT_BUCKET: z.string().min(3),
  S3_RECEIPTS_BUCKET: z.string().min(3),
  S3_SSE_KMS_KEY_ID: z.string().min(1).describe('key id S3 uses for SSE-KMS'),
  KMS_ENDPOINT: z.string().url().optional(),
  KMS_REGION: z.string().default('eu-west-2'),
  KMS_EXPORT_KEY_ARN: z.string().startsWith('arn:'),
  KMS_RECEIPT_KEY_ARN: z.string().startsWith('arn:'),
  KMS_CHECKPOINT_KEY_ARN: z.string().startsWith('arn:'),
  KMS_PAYLOAD_KEY_ARN: z.string().startsWith('arn:').optional()
    .describe('symmetric KMS key Temporal payloads are encrypted under (a data key per process); unset: KMS_EXPORT_KEY_ARN, with its own encryption context'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  SUBJECT_HASH_SECRET: z.string().min(32, 'must be at least 32 characters')
    .describe('keys the hashes that name data subjects in tombstones and receipts; never change it'),
  RECEIPTS_LOG_ORIGIN: z.string().min(3).default('compliance-ops.local/receipts'),
  JWT_AUDIENCE: z.string().default('compliance-ops'),
  JWT_ISSUER: z.string().default('compliance-ops-local'),
  JWT_ACCEPT_HS256: z.stringbool().default(true)
    .describe('accept HS256 tokens signed with JWT_SECRET (the local stack); turn off where an identity provider issues tokens'),
  JWT_PUBLIC_KEYS: z.string().optional().refine((v) => v === undefined || publicKeyProblem(v) === undefined, {
    error: (issue) => publicKeyProblem(String(issue.input)) ?? 'not valid',
  }).describe('RS256/ES256 verification keys: PEM text, or the path of a PEM file, with one or more public keys'),
  JWT_JWKS_URL: z.string().url().optional().describe("the identity provider's JWKS (RS256/ES256 keys, cached)"),
  JWT_ROLE_CLAIM: z.string().min(1).default('role'),
  JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(20).describe('per credential: sustained requests a second'),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(40).describe('per credential: requests allowed at once'),
  TRUST_PROXY: z.string().optional().describe("Express 'trust proxy' (e.g. `loopback` or a hop count): whose X-Forwarded-For names the client"),
  TENANT_COLUMN: z.string().default('tenant_id'),
  DATAMAP_CONFIG: z.string().optional().describe('path of the data map override file'),
  RETENTION_CONFIG: z.string().optional().describe('path of the retention policies file (src/retention/demo-retention.yaml on the local demo database)'),
  SNAPSHOT_SCHEDULE: z.string().default('0 3 * * *')
    .refine((v) => v === 'off' || checkCron(v, 'UTC')?.field !== 'schedule', { error: 'a cron expression (e.g. "0 3 * * *", daily at 03:00) or "off"' })
    .describe('when every live tenant is snapshotted for point-in-time restore, and the archive pruned to PITR_WINDOW'),
  SNAPSHOT_UNCHANGED: z.enum(['skip', 'take']).default('skip')
    .describe('skip: a scheduled run leaves out tenants whose newest snapshot still holds what they hold now (nothing archived since); take: snapshot every tenant every run'),
  SNAPSHOT_TIME_ZONE: z.string().default('UTC').refine((v) => checkCron('0 3 * * *', v) === null, { error: 'an IANA time zone such as UTC or Europe/Berlin' }),
  PITR_WINDOW: z.string().default('7d').refine((v) => parseDurationMs(v) !== null, { error: 'a duration such as 7d, 36h or 90m' })
    .describe('how far back a tenant can be restored: older snapshots and WAL segments are deleted'),
  RESTORE_STAGING_TTL: z.string().default('3d').refine((v) => parseDurationMs(v) !== null, { error: 'a duration such as 3d, 36h or 90m' })
    .describe('how long a staging restore\'s schema (a copy of the tenant) waits to be promoted or dropped before it is dropped'),
  WAL_ARCHIVER: z.enum(['on', 'off']).default('on')
    .describe('whether a worker starts the supervised WAL archiver (one per application database) when it boots'),
  WAL_ARCHIVER_INTERVAL_SECONDS: z.coerce.number().positive().max(300).default(5)
    .describe('pause between two drains of the archive slot once it is caught up'),
  WAL_ARCHIVER_WARN_SAFE_FRACTION: z.coerce.number().gt(0).lt(1).default(0.2)
    .describe("warn when the slot's safe_wal_size falls under this fraction of max_slot_wal_keep_size"),
  PORT: port.default(3100),
  HOST: z.string().default('127.0.0.1'),
  WORKER_METRICS_PORT: port.optional()
    .describe('`compliance-ops worker` serves Prometheus /metrics on this port, on 127.0.0.1; unset: not served (inside `start` they are on the API\'s /metrics)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type ConfigValues = Readonly<z.infer<typeof ConfigSchema>>;

/** The validated, frozen configuration; a class so Nest can inject it by type. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Config extends ConfigValues {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Config {
  constructor(values: ConfigValues) {
    Object.assign(this, values);
    Object.freeze(this);
  }
}

/** Written by `stack up`: the local stack's endpoints and generated secrets. */
export function localStackEnvFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stackHome(env), 'env.json');
}

/**
 * Parses the configuration once. The process environment wins; the local
 * stack's env file fills the gaps in development. Every problem is reported
 * at once, naming the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = localStackEnvFile(env);
  const local = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  return new Config(parseOrThrow(ConfigSchema, { ...local, ...env }, 'configuration'));
}

export class ConfigError extends Error {
  constructor(readonly problems: string[], what: string) {
    super(`Invalid ${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
      'Set the variables above, or run `compliance-ops stack up` to use the local stack.');
    this.name = 'ConfigError';
  }
}

function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ConfigError(problems, what);
}
