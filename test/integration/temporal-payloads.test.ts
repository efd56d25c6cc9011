import { Client as TemporalClient, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Config, loadConfig } from '../../src/config';
import { deletePrefix } from '../../src/s3/prefix';
import { createS3Client } from '../../src/s3/s3';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';
import { payloadCodec } from '../../src/temporal/data-converter';
import { ENCRYPTED_ENCODING } from '../../src/temporal/payload-codec';
import { startTestService, TestService } from '../helpers/service';

/*
 * A data subject's identifier must never sit in clear in Temporal: the
 * workflow history is read here as the Temporal server stores it, through a
 * client without the codec, byte for byte.
 */
describe('Temporal payloads are encrypted', () => {
  let service: TestService;
  let config: Config;
  let connection: Connection;
  let rawClient: TemporalClient;
  let operator: string;
  let tenantId: string;
  let email: string;

  beforeAll(async () => {
    service = await startTestService('payloads', { seed: 31, tenants: 2, rowsPerTenant: 200 });
    config = loadConfig();
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    rawClient = new TemporalClient({ connection, namespace: config.TEMPORAL_NAMESPACE });
    operator = await service.api.token('operator');
    tenantId = service.demo.tenants[0].id;
    const admin = new Client({ connectionString: service.app.adminUrl });
    await admin.connect();
    email = (await admin.query<{ email: string }>('SELECT email FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 1', [tenantId])).rows[0].email;
    await admin.end();
  });
  afterAll(async () => {
    const s3 = createS3Client(loadConfig());
    await deletePrefix(s3, loadConfig().S3_EXPORT_BUCKET, `tenants/${tenantId}/exports/`).catch(() => undefined);
    s3.destroy();
    await connection?.close();
    await service?.close();
  });

  async function finished(id: string): Promise<RequestView> {
    for (let i = 0; i < 240; i++) {
      const response = await fetch(`${service.api.url}/v1/requests/${id}`, { headers: { authorization: `Bearer ${operator}` } });
      const request = (await response.json()) as RequestView;
      if (FINAL_STATUSES.has(request.status)) return request;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`request ${id} did not finish`);
  }

  it('a subject export completes, and its history holds the e-mail nowhere, only opaque encrypted payloads', async () => {
    const response = await fetch(`${service.api.url}/v1/tenants/${tenantId}/exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: { column: 'email', value: email }, format: 'jsonl' }),
    });
    expect(response.status).toBe(202);
    const request = (await response.json()) as RequestView;
    const done = await finished(request.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect((done.result as { rows: number }).rows).toBeGreaterThan(0);

    const history = await rawClient.workflow.getHandle(`export:${tenantId}:${request.id}`).fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes.includes(email)).toBe(false);
    expect(bytes.includes(email.split('@')[0])).toBe(false);

    // The input is there all the same, as an opaque payload only the codec opens.
    const started = history.events!.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!;
    const [input] = started.input!.payloads!;
    expect(Buffer.from(input.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    const [decoded] = await payloadCodec(config).decode([input]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toMatchObject({ requestId: request.id, subject: { column: 'email', value: email } });

    // Every payload the server stores is encrypted: the activity's input and result too.
    const completed = history.events!.find((e) => e.activityTaskCompletedEventAttributes)!.activityTaskCompletedEventAttributes!;
    expect(Buffer.from(completed.result!.payloads![0].metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
  });
});
