import { setTimeout as sleep } from 'node:timers/promises';
import { INestApplication } from '@nestjs/common';
import { createApi } from '../../src/api';
import { Role } from '../../src/auth/principal';
import { mintToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { FINAL_STATUSES, RequestView } from '../../src/requests/request.types';

/** How often `finished` asks again. */
const POLL_MS = 200;

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface TestApi {
  url: string;
  app: INestApplication;
  token(role: Role, tenantId?: string): Promise<string>;
  /** One JSON call as the holder of `token`, the answer's body parsed. */
  call(token: string, method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Polls `GET /v1/requests/{id}` until the request is succeeded, failed or cancelled. */
  finished(token: string, id: string, timeoutMs?: number): Promise<RequestView>;
  close(): Promise<void>;
}

/** The real API on an ephemeral port, against the local stack. */
export async function startTestApi(): Promise<TestApi> {
  const config = loadConfig();
  // The API migrates at start (compliance-ops api); so does its test double.
  await migrate(config.CATALOG_DATABASE_URL);
  const app = await createApi();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const call = async (token: string, method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return {
    url,
    app,
    token: (role, tenantId) =>
      mintToken({ secret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER }, { role, tenantId }),
    call,
    async finished(token, id, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const request = (await call(token, 'GET', `/v1/requests/${id}`)).body as unknown as RequestView;
        if (FINAL_STATUSES.has(request.status)) return request;
        await sleep(POLL_MS);
      }
      throw new Error(`request ${id} did not finish within ${timeoutMs} ms`);
    },
    close: () => app.close(),
  };
}
