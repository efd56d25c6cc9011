import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ActivityCancellationDetails, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantSummary } from '../../src/demo/generator';
import { createExportActivities, ExportHeartbeat } from '../../src/export/export.activities';
import { ExportCursor, ExportResult } from '../../src/export/export.types';
import { exportPrefix, MANIFEST_KEY } from '../../src/export/layout';
import { runExport } from '../../src/export/run-export';
import { streamToObject } from '../../src/export/upload';
import { listKeys, listMultipartUploads, objectExists } from '../../src/s3/prefix';
import { ExportTestEnv, openExportTestEnv } from '../helpers/export-env';

let env: ExportTestEnv;
let whale: TenantSummary;

beforeAll(async () => {
  // Big enough that audit_events crosses several 8 MiB upload parts when stored uncompressed.
  env = await openExportTestEnv('export_resume', { seed: 1047, tenants: 2, rowsPerTenant: 100_000 });
  whale = [...env.tenants].sort((a, b) => b.rows - a.rows)[0];
});

afterAll(async () => {
  // Only what this file wrote (its request ids start with rt-): other files may share the demo tenant ids.
  await env?.close(whale ? [`tenants/${whale.id}/exports/rt-`] : []);
});

async function unfinishedUploads(prefix: string): Promise<number> {
  return (await listMultipartUploads(env.s3, env.config.S3_EXPORT_BUCKET, prefix)).length;
}

describe('cancelling and resuming an export', () => {
  it('aborts an object upload mid-way without leaving a multipart upload behind', async () => {
    const key = `tenants/${whale.id}/exports/rt-abort-${randomUUID()}/x.bin`;
    const stop = new AbortController();
    // A slow source, so the test can wait until S3 holds an open multipart upload.
    const source = Readable.from((async function* () {
      for (let i = 0; i < 64; i++) {
        await sleep(25);
        yield Buffer.alloc(1024 * 1024, i);
      }
    })());
    const upload = streamToObject({ s3: env.s3, bucket: env.config.S3_EXPORT_BUCKET, key, sseKmsKeyId: env.config.S3_SSE_KMS_KEY_ID }, source, [], stop.signal);
    upload.catch(() => undefined);
    while ((await unfinishedUploads(key)) === 0) await sleep(50);
    stop.abort(new Error('cancelled by test'));
    await expect(upload).rejects.toThrow(/cancelled by test|aborted/i);
    expect(await unfinishedUploads(key)).toBe(0);
    expect(await objectExists(env.s3, env.config.S3_EXPORT_BUCKET, key)).toBe(false);
  });

  it('stops mid-table on abort, leaving no multipart upload and no manifest', async () => {
    const requestId = `rt-cancel-${randomUUID()}`;
    const prefix = exportPrefix(whale.id, requestId);
    const stop = new AbortController();
    const running = runExport(env.deps, env.map, { requestId, scope: { tenantId: whale.id }, format: 'csv' }, {
      compressionLevel: 0,
      signal: stop.signal,
      onProgress: () => stop.abort(new Error('cancelled by test')),
    });
    await expect(running).rejects.toThrow(/cancelled by test|aborted/i);
    expect(await unfinishedUploads(prefix)).toBe(0);
    expect(await objectExists(env.s3, env.config.S3_EXPORT_BUCKET, prefix + MANIFEST_KEY)).toBe(false);
  });

  it('resumes from the cursor, keeping finished tables, as one snapshot', async () => {
    const requestId = `rt-resume-${randomUUID()}`;
    const prefix = exportPrefix(whale.id, requestId);
    const stop = new AbortController();
    let cursor: ExportCursor | undefined;
    const first = runExport(env.deps, env.map, { requestId, scope: { tenantId: whale.id }, format: 'csv' }, {
      parallelTables: 1,
      signal: stop.signal,
      onCursor(c) {
        cursor = c;
        stop.abort(new Error('worker crashed'));
      },
    });
    await expect(first).rejects.toThrow(/worker crashed|aborted/i);
    expect(cursor?.completed).toHaveLength(1);
    const kept = cursor!.completed[0].chunks[0].key;
    const before = await env.s3.send(new HeadObjectCommand({ Bucket: env.config.S3_EXPORT_BUCKET, Key: prefix + kept }));

    const resumed: string[] = [];
    const result = await runExport(env.deps, env.map, { requestId, scope: { tenantId: whale.id }, format: 'csv' }, {
      resume: cursor,
      onProgress: (p) => resumed.push(p.table),
    });
    expect(resumed).not.toContain(cursor!.completed[0].path);
    const after = await env.s3.send(new HeadObjectCommand({ Bucket: env.config.S3_EXPORT_BUCKET, Key: prefix + kept }));
    expect(after.ETag).toBe(before.ETag);
    // Nothing was written in between: the kept table is proven unchanged at the retry's snapshot (export-resume-consistency.test.ts has the rest).
    expect(result.consistent).toBe(true);
    expect(result.rows).toBe(whale.rows);

    const { manifest } = await env.decrypt(result, requestId);
    expect(manifest.snapshots).toHaveLength(1);
    expect(manifest.files.find((f: { path: string }) => f.path === cursor!.completed[0].path).snapshot).toBe(0);
  });

  it('returns the finished export again instead of redoing it', async () => {
    const requestId = `rt-again-${randomUUID()}`;
    const request = { requestId, scope: { tenantId: whale.id }, format: 'csv' as const, tables: ['users'] };
    const first = await runExport(env.deps, env.map, request);
    const keys = await listKeys(env.s3, env.config.S3_EXPORT_BUCKET, first.prefix);
    const again = await runExport(env.deps, env.map, request);
    expect(again).toEqual(first);
    expect(await listKeys(env.s3, env.config.S3_EXPORT_BUCKET, first.prefix)).toEqual(keys);
  });

  it('runs as an activity outside Temporal, and maps bad input to a non-retryable failure', async () => {
    const activities = createExportActivities({ ...env.deps, loadDataMap: async () => env.map });
    const result = await activities.runExport({ requestId: `rt-act-${randomUUID()}`, tenantId: whale.id, format: 'jsonl', tables: ['projects'] });
    expect(result.files).toBe(2);
    await expect(
      activities.runExport({ requestId: `rt-act-${randomUUID()}`, tenantId: whale.id, format: 'csv', tables: ['plans'] }),
    ).rejects.toMatchObject({ type: 'unknown_table', nonRetryable: true });
  });
});

describe('one consistent instant', () => {
  it('leaves out, in every table, writes committed while the export runs', async () => {
    const requestId = `rt-consistency-${randomUUID()}`;
    const marker = `written-during-export-${randomUUID()}@example.com`;
    let committed: Promise<void> | undefined;
    let committedAt = 0;
    const exported = runExport(env.deps, env.map, { requestId, scope: { tenantId: whale.id }, format: 'csv' }, {
      parallelTables: 1,
      onCursor() {
        // After the first table: one transaction touching three tables the export has not copied yet (or has).
        committed ??= env.admin
          .query(
            `WITH u AS (INSERT INTO users (tenant_id, email, full_name) VALUES ($1, $2, 'Mid Export') RETURNING tenant_id, id),
                  p AS (INSERT INTO projects (tenant_id, owner_id, name) SELECT tenant_id, id, $2 FROM u RETURNING id)
             INSERT INTO audit_events (tenant_id, actor_id, action) SELECT tenant_id, id, $2 FROM u`,
            [whale.id, marker],
          )
          .then(() => {
            committedAt = Date.now();
          });
      },
    });
    const result = await exported;
    const finishedAt = Date.now();
    await committed;
    // Put the tenant back as it was for the tests that follow.
    await env.admin.query('DELETE FROM audit_events WHERE action = $1', [marker]);
    await env.admin.query('DELETE FROM projects WHERE name = $1', [marker]);
    await env.admin.query('DELETE FROM users WHERE email = $1', [marker]);
    expect(committedAt).toBeGreaterThan(0);
    expect(committedAt).toBeLessThan(finishedAt);

    const { out } = await env.decrypt(result, requestId);
    for (const table of ['users', 'projects', 'audit_events']) {
      expect((await readFile(join(out, 'tables', `${table}.csv`), 'utf8')).includes(marker), table).toBe(false);
    }
    expect(result.rows).toBe(whale.rows);
  });
});

describe('the export activity inside a (mock) Temporal activity context', () => {
  const input = () => ({ requestId: `rt-act-${randomUUID()}`, tenantId: whale.id, format: 'csv' as const });
  const activities = () => createExportActivities({ ...env.deps, loadDataMap: async () => env.map, options: { parallelTables: 1 } });

  it('heartbeats progress and the cursor, and a retry resumes from the last heartbeat', async () => {
    const request = input();
    const first = new MockActivityEnvironment();
    const beats: ExportHeartbeat[] = [];
    first.on('heartbeat', (beat: ExportHeartbeat) => {
      beats.push(structuredClone(beat));
      // A worker going away: the attempt stops, its chunks stay for the retry.
      if (beat.cursor?.completed.length === 2) first.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    });
    await expect(first.run(activities().runExport, request)).rejects.toBeInstanceOf(CancelledFailure);
    expect(beats.some((b) => b.progress !== null)).toBe(true);
    const last = beats[beats.length - 1];
    expect(last.cursor?.completed).toHaveLength(2);

    const retry = new MockActivityEnvironment({ heartbeatDetails: last });
    const copied: string[] = [];
    retry.on('heartbeat', (beat: ExportHeartbeat) => beat.progress && copied.push(beat.progress.table));
    const result = (await retry.run(activities().runExport, request)) as ExportResult;
    expect(result.rows).toBe(whale.rows);
    for (const done of last.cursor!.completed) expect(copied).not.toContain(done.path);
  });

  it('deletes everything it wrote when the workflow cancels it', async () => {
    const request = input();
    const activity = new MockActivityEnvironment();
    activity.on('heartbeat', (beat: ExportHeartbeat) => {
      if (beat.cursor?.completed.length) activity.cancel('CANCELLED');
    });
    await expect(activity.run(activities().runExport, request)).rejects.toBeInstanceOf(CancelledFailure);
    const prefix = exportPrefix(whale.id, request.requestId);
    expect(await listKeys(env.s3, env.config.S3_EXPORT_BUCKET, prefix)).toEqual([]);
    expect(await unfinishedUploads(prefix)).toBe(0);
  });
});
