import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { localStackEnvFile, stackHome, stackPorts, StackPorts } from '../config';
import { localEndpoints, LocalEndpoints } from './endpoints';
import { ensureBuckets, minioDaemon, minioHealthy, startMinio } from './minio';
import { kmsDaemon, kmsHealthy, keyArn, LOCAL_KMS_REGION, newKeyIds, startKms } from './kms';
import { postgresDaemon, postgresHealthy, preparePostgres, startPostgres } from './postgres';
import { Daemon, isPortOpen, runningPid, stopDaemon } from './process';
import { temporalDaemon, temporalHealthy, startTemporal } from './temporal';
import { ensureTools } from './tools';

const SSE_KEY_NAME = 'compliance-ops-sse';
type Log = (line: string) => void;

/**
 * The local stack's generated settings, made once and kept in the stack home:
 * the same names the service reads in production, so only values differ.
 */
function localEnv(endpoints: LocalEndpoints): Record<string, string> {
  const file = localStackEnvFile();
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const keys = newKeyIds();
  const fresh: Record<string, string> = {
    DATABASE_URL: endpoints.demoUrl,
    CATALOG_DATABASE_URL: endpoints.catalogUrl,
    TEMPORAL_ADDRESS: endpoints.temporalAddress,
    S3_ENDPOINT: endpoints.s3Endpoint,
    S3_ACCESS_KEY_ID: 'compliance-ops',
    S3_SECRET_ACCESS_KEY: randomBytes(18).toString('base64url'),
    S3_EXPORT_BUCKET: 'compliance-exports',
    S3_RECEIPTS_BUCKET: 'compliance-receipts',
    S3_SSE_KMS_KEY_ID: SSE_KEY_NAME,
    MINIO_KMS_SECRET_KEY: `${SSE_KEY_NAME}:${randomBytes(32).toString('base64')}`,
    KMS_ENDPOINT: endpoints.kmsEndpoint,
    KMS_REGION: LOCAL_KMS_REGION,
    KMS_EXPORT_KEY_ARN: keyArn(keys.exports),
    KMS_RECEIPT_KEY_ARN: keyArn(keys.receipts),
    KMS_CHECKPOINT_KEY_ARN: keyArn(keys.checkpoints),
    JWT_SECRET: randomBytes(32).toString('base64url'),
    SUBJECT_HASH_SECRET: randomBytes(32).toString('base64url'),
  };
  // Values made earlier are kept (keys, secrets and data depend on them); settings added since are filled in.
  const env = { ...fresh, ...existing };
  if (Object.keys(env).length !== Object.keys(existing).length) {
    mkdirSync(stackHome(), { recursive: true });
    writeFileSync(file, JSON.stringify(env, null, 2), { mode: 0o600 });
  }
  return env;
}

function keyIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** Refuses to start on a port that something other than our own copy holds. */
async function claimPort(daemon: Daemon, port: number, variable: string): Promise<void> {
  if (runningPid(daemon) !== undefined) return;
  if (await isPortOpen(port)) {
    throw new Error(`${daemon.name}: port ${port} on 127.0.0.1 is already in use by another process. ` +
      `Stop that process, or choose another port with ${variable}=<port>.`);
  }
}

export async function stackUp(log: Log): Promise<LocalEndpoints> {
  const home = stackHome();
  const ports = stackPorts();
  const endpoints = localEndpoints(ports);
  mkdirSync(home, { recursive: true });
  const env = localEnv(endpoints);
  const tools = ensureTools(log);

  await claimPort(postgresDaemon(home), ports.COMPLIANCE_OPS_PG_PORT, 'COMPLIANCE_OPS_PG_PORT');
  await claimPort(temporalDaemon(home), ports.COMPLIANCE_OPS_TEMPORAL_PORT, 'COMPLIANCE_OPS_TEMPORAL_PORT');
  await claimPort(minioDaemon(home), ports.COMPLIANCE_OPS_S3_PORT, 'COMPLIANCE_OPS_S3_PORT');
  await claimPort(kmsDaemon(home), ports.COMPLIANCE_OPS_KMS_PORT, 'COMPLIANCE_OPS_KMS_PORT');

  // Independent servers start together; each waits on its own health check.
  await Promise.all([
    startPostgres(home, ports.COMPLIANCE_OPS_PG_PORT, log).then(() => preparePostgres(endpoints)),
    startTemporal(tools.temporal, home, ports.COMPLIANCE_OPS_TEMPORAL_PORT, ports.COMPLIANCE_OPS_TEMPORAL_UI_PORT),
    startMinio({
      binary: tools.minio, home, port: ports.COMPLIANCE_OPS_S3_PORT, consolePort: ports.COMPLIANCE_OPS_S3_CONSOLE_PORT,
      accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY, kmsSecretKey: env.MINIO_KMS_SECRET_KEY,
    }).then(() => ensureBuckets(s3Client(endpoints, env), env.S3_EXPORT_BUCKET, env.S3_RECEIPTS_BUCKET)),
    startKms(tools['local-kms'], home, ports.COMPLIANCE_OPS_KMS_PORT, {
      exports: keyIdOf(env.KMS_EXPORT_KEY_ARN),
      receipts: keyIdOf(env.KMS_RECEIPT_KEY_ARN),
      checkpoints: keyIdOf(env.KMS_CHECKPOINT_KEY_ARN),
    }),
  ]);
  return endpoints;
}

function s3Client(endpoints: LocalEndpoints, env: Record<string, string>): S3Client {
  return new S3Client({
    endpoint: endpoints.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
  });
}

/** Stops only what `up` started (by its pid files), in reverse dependency order. */
export async function stackDown(log: Log): Promise<void> {
  const home = stackHome();
  for (const daemon of [kmsDaemon(home), minioDaemon(home), temporalDaemon(home), postgresDaemon(home)]) {
    if (await stopDaemon(daemon)) log(`stopped ${daemon.name}`);
  }
}

export interface ComponentStatus {
  url: string;
  healthy: boolean;
  managed: boolean;
  [extra: string]: unknown;
}

export async function stackStatus(ports: StackPorts = stackPorts()): Promise<Record<string, ComponentStatus>> {
  const home = stackHome();
  const e = localEndpoints(ports);
  const managed = (d: Daemon) => runningPid(d) !== undefined;
  const [pg, temporal, s3, kms, api] = await Promise.all([
    postgresHealthy(e.demoUrl),
    temporalHealthy(e.temporalAddress),
    minioHealthy(e.s3Endpoint),
    kmsHealthy(e.kmsEndpoint),
    fetch(`${e.apiUrl}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false),
  ]);
  return {
    postgres: { url: e.demoUrl, healthy: pg, managed: managed(postgresDaemon(home)), catalogUrl: e.catalogUrl },
    temporal: { url: e.temporalAddress, healthy: temporal, managed: managed(temporalDaemon(home)), ui: e.temporalUi },
    s3: { url: e.s3Endpoint, healthy: s3, managed: managed(minioDaemon(home)), console: e.s3Console },
    kms: { url: e.kmsEndpoint, healthy: kms, managed: managed(kmsDaemon(home)) },
    api: { url: e.apiUrl, healthy: api, managed: false, docs: `${e.apiUrl}/docs` },
  };
}
