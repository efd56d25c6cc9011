import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { createWorker } from '../../src/worker';
import { freePort } from '../../src/stack/free-port';
import { startTestService, TestService } from '../helpers/service';
import { startWorkerProcess, WorkerProcess } from '../helpers/worker-process';

/*
 * What the worker reports to Prometheus equals what the requests report:
 * first from `compliance-ops worker` alone (its own /metrics on
 * WORKER_METRICS_PORT), then from a worker in the API's process (the API's /metrics).
 */
describe('worker metrics', () => {
  let service: TestService;
  let operator: string;
  let child: WorkerProcess | undefined;
  let childMetricsUrl: string;
  let tenants: string[];

  beforeAll(async () => {
    service = await startTestService('wmetrics', { seed: 43, tenants: 3, rowsPerTenant: 300 }, { worker: false });
    operator = await service.api.token('operator');
    tenants = service.demo.tenants.map((t) => t.id);
    const port = await freePort();
    childMetricsUrl = `http://127.0.0.1:${port}/metrics`;
    child = startWorkerProcess({ ...process.env, WORKER_METRICS_PORT: String(port) });
  });
  afterAll(async () => {
    await child?.stop();
    const config = loadConfig();
    const s3 = createS3Client(config);
    for (const t of tenants ?? []) await deletePrefix(s3, config.S3_EXPORT_BUCKET, `tenants/${t}/exports/`).catch(() => undefined);
    s3.destroy();
    await service?.close();
  });

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${service.api.url}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as RequestView;
  };

  async function finished(id: string): Promise<RequestView> {
    for (let i = 0; i < 480; i++) {
      const response = await fetch(`${service.api.url}/v1/requests/${id}`, { headers: { authorization: `Bearer ${operator}` } });
      const request = (await response.json()) as RequestView;
      if (FINAL_STATUSES.has(request.status)) {
        expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
        return request;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`request ${id} did not finish; worker output: ${child?.output()}`);
  }

  async function scrape(url: string): Promise<Metrics> {
    for (let i = 0; i < 120; i++) {
      const response = await fetch(url).catch(() => undefined);
      if (response?.ok) return parseMetrics(await response.text());
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no metrics at ${url}; worker output: ${child?.output()}`);
  }

  it('a worker alone serves /metrics whose rows and bytes equal what its export and erasure report', async () => {
    const before = await scrape(childMetricsUrl);
    const exported = await finished((await post(`/v1/tenants/${tenants[0]}/exports`, { format: 'csv' })).id);
    const result = exported.result as { rows: number; bytes: number };
    expect(result.rows).toBeGreaterThan(0);

    const admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    const { rows: [user] } = await admin.query<{ email: string }>('SELECT email FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 1', [tenants[1]]);
    await admin.end();
    const erased = await finished((await post(`/v1/tenants/${tenants[1]}/erasures`, {
      subject: { column: 'email', value: user.email }, graceSeconds: 0, reason: 'metrics test',
    })).id);
    const tables = (erased.result as { tables: Array<{ action: string; rows: number }> }).tables;
    const erasedRows = (action: string) => tables.filter((t) => t.action === action).reduce((sum, t) => sum + t.rows, 0);
    expect(erasedRows('delete')).toBeGreaterThan(0);

    const after = await scrape(childMetricsUrl);
    const delta = (name: string, labels = '') => after.value(name, labels) - before.value(name, labels);
    expect(delta('compliance_ops_rows_processed_total', '{capability="export",action="exported"}')).toBe(result.rows);
    expect(delta('compliance_ops_bytes_processed_total', '{capability="export"}')).toBe(result.bytes);
    expect(delta('compliance_ops_rows_processed_total', '{capability="erasure",action="deleted"}')).toBe(erasedRows('delete'));
    expect(delta('compliance_ops_rows_processed_total', '{capability="erasure",action="anonymized"}')).toBe(erasedRows('anonymize'));
    // One observation per export chunk and per committed purge batch.
    expect(delta('compliance_ops_export_chunk_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('compliance_ops_purge_batch_seconds_count', '{capability="erasure"}')).toBeGreaterThanOrEqual(1);
    expect(after.text).toMatch(/^# TYPE compliance_ops_activity_failures_total counter$/m);
    expect(after.text).toMatch(/^# TYPE compliance_ops_workflow_failures_total counter$/m);
    // Node's runtime metrics come along; the API's own do not (another process).
    expect(after.text).toMatch(/^compliance_ops_process_resident_memory_bytes /m);
    expect(after.text).not.toMatch(/compliance_ops_http_requests_total/);
    await child!.stop();
    child = undefined;
  });

  it('a worker inside the API\'s process reports on the API\'s /metrics', async () => {
    const { worker, close } = await createWorker(loadConfig());
    const running = worker.run();
    try {
      const before = await scrape(`${service.api.url}/metrics`);
      const exported = await finished((await post(`/v1/tenants/${tenants[2]}/exports`, { format: 'jsonl' })).id);
      const after = await scrape(`${service.api.url}/metrics`);
      const rows = '{capability="export",action="exported"}';
      expect(after.value('compliance_ops_rows_processed_total', rows) - before.value('compliance_ops_rows_processed_total', rows))
        .toBe((exported.result as { rows: number }).rows);
      expect(after.text).toMatch(/^compliance_ops_http_requests_total\{/m);
    } finally {
      worker.shutdown();
      await running;
      await close();
    }
  });
});

interface Metrics {
  text: string;
  /** the sample `name{labels}`, 0 when absent (a counter not yet incremented) */
  value(name: string, labels?: string): number;
}

function parseMetrics(text: string): Metrics {
  return {
    text,
    value(name, labels = '') {
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    },
  };
}
