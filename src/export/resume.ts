import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { logger } from '../logger';
import { deleteKeys, listKeys } from '../s3/prefix';
import { CursorStore } from './cursor-store';
import { ExportCursor } from './export.types';
import { TableCopy } from './plan';
import { ExportSnapshot } from './snapshot';
import { KeptFile, proveUnchanged, Verdict } from './unchanged-proof';

export interface ResumeEnvironment {
  pool: Pool;
  s3: S3Client;
  bucket: string;
  prefix: string;
  tenantId: string;
  requestId: string;
  store: CursorStore;
  onCursor?(cursor: ExportCursor): void;
}

/**
 * Makes the cursor true at `snapshot`, the one this attempt copies at. An
 * earlier attempt's snapshot cannot be imported any more (its holding
 * transaction died with that attempt), so the files it read are kept only if
 * proven unchanged at the new snapshot and still in S3; otherwise they are
 * discarded and the export starts over. Either way every file of the export
 * is then true at one instant. The new cursor is saved before anything is
 * deleted, so no later attempt can trust a discarded file. Returns whether
 * this attempt starts over.
 */
export async function adoptSnapshot(env: ResumeEnvironment, snapshot: ExportSnapshot, copies: TableCopy[], cursor: ExportCursor): Promise<{ restarted: boolean }> {
  const before = cursor.snapshots[0];
  cursor.snapshots = [snapshot.info];
  if (cursor.completed.length === 0) return { restarted: false };

  const kept: KeptFile[] = cursor.completed.map((file) => ({ file, copy: copies.find((c) => c.path === file.path)! }));
  const verdict = await keepable(env, snapshot, before, kept);
  const paths = kept.map((k) => k.file.path);
  if (verdict.unchanged) {
    cursor.resumes = [...(cursor.resumes ?? []), { from: before, kept: paths, proof: 'row-versions' }];
    await saved(env, cursor);
    logger.info({ requestId: env.requestId, kept: paths }, 'export resumed: kept files proven unchanged at the new snapshot');
    return { restarted: false };
  }

  const discarded = cursor.completed.flatMap((f) => f.chunks.map((c) => env.prefix + c.key));
  cursor.completed = [];
  cursor.statements = {};
  cursor.resumes = [];
  await saved(env, cursor);
  await deleteKeys(env.s3, env.bucket, discarded);
  logger.info({ requestId: env.requestId, discarded: paths, reason: verdict.reason }, 'export restarted: earlier files not provably unchanged');
  return { restarted: true };
}

async function keepable(env: ResumeEnvironment, snapshot: ExportSnapshot, before: ExportCursor['snapshots'][number], kept: KeptFile[]): Promise<Verdict> {
  const stored = new Set(await listKeys(env.s3, env.bucket, env.prefix));
  const missing = kept.flatMap((k) => k.file.chunks).find((c) => !stored.has(env.prefix + c.key));
  if (missing) return { unchanged: false, reason: `${missing.key} is no longer in S3` };
  return proveUnchanged(env.pool, snapshot, before, env.tenantId, kept);
}

async function saved(env: ResumeEnvironment, cursor: ExportCursor): Promise<void> {
  await env.store.save(structuredClone(cursor));
  env.onCursor?.(structuredClone(cursor));
}
