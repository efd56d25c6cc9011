import { mintToken } from '../auth/tokens';
import { loadConfig } from '../config';
import { localEndpoints } from '../stack/endpoints';
import type { RequestView } from '../requests/request.types';
import { FINAL_STATUSES } from '../requests/request.types';

/**
 * The CLI talks to the API like any client. It uses COMPLIANCE_OPS_API_URL and
 * COMPLIANCE_OPS_TOKEN when set; on the local stack it mints an operator token.
 */
export class ApiClient {
  private constructor(readonly baseUrl: string, private readonly token: string) {}

  static async fromEnvironment(): Promise<ApiClient> {
    const baseUrl = process.env.COMPLIANCE_OPS_API_URL ?? localEndpoints().apiUrl;
    let token = process.env.COMPLIANCE_OPS_TOKEN;
    if (!token) {
      const config = loadConfig();
      token = await mintToken({ secret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER },
        { role: 'operator', subject: 'cli' }, 3600);
    }
    return new ApiClient(baseUrl, token);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new Error(`cannot reach the API at ${this.baseUrl}: start it with \`npm start\` or set COMPLIANCE_OPS_API_URL`);
    }
    const payload = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
    if (!response.ok) throw new Error(`${payload.code ?? response.status}: ${payload.message ?? response.statusText}`);
    return payload as T;
  }

  /** Polls a request until it finishes, reporting each change of progress. */
  async waitFor(requestId: string, onUpdate: (request: RequestView) => void, pollMs = 500): Promise<RequestView> {
    for (;;) {
      const request = await this.call<RequestView>('GET', `/v1/requests/${requestId}`);
      onUpdate(request);
      if (FINAL_STATUSES.has(request.status)) return request;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
