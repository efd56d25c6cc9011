import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, TestService } from '../helpers/service';

type Schema = Record<string, unknown>;
type Media = { schema?: Schema; example?: unknown; examples?: Record<string, unknown> };
type Response = { description?: string; content?: Record<string, Media> };
type Operation = {
  operationId?: string; parameters?: unknown[]; security?: unknown[]; requestBody?: { content?: Record<string, Media> }; responses: Record<string, Response>;
};
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Public routes without any input: no call of theirs can be the client's fault, so they have no 4xx to document. */
const NO_CLIENT_ERRORS = new Set(['GET /healthz', 'GET /readyz', 'GET /.well-known/jwks.json']);

/** An example on the media, its schema, or (for a `$ref`) the referenced schema. */
function hasExample(media: Media | undefined, doc: Document): boolean {
  if (!media) return false;
  if (media.example !== undefined || media.examples !== undefined) return true;
  const schema = media.schema ?? {};
  const ref = typeof schema.$ref === 'string' ? doc.components.schemas[schema.$ref.split('/').pop()!] : undefined;
  return (schema.example ?? ref?.example) !== undefined;
}

/**
 * The OpenAPI document is a contract clients (and the fuzzer) rely on: every
 * operation says what it takes and everything it may answer — its success
 * with a schema and an example, and its errors in the one error schema.
 */
describe('the OpenAPI document', () => {
  let service: TestService;
  let doc: Document;
  const operations: Array<{ name: string; path: string; method: string; op: Operation }> = [];

  beforeAll(async () => {
    service = await startTestService('api_openapi', { seed: 3, tenants: 2, rowsPerTenant: 20 }, { worker: false });
    doc = (await (await fetch(`${service.api.url}/openapi.json`)).json()) as Document;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) if (item[method]) operations.push({ name: `${method.toUpperCase()} ${path}`, path, method, op: item[method] });
    }
  });
  afterAll(async () => {
    await service?.close();
  });

  it('documents a success with a schema and an example for every operation', () => {
    expect(operations.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const { name, op } of operations) {
      const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      if (success.length === 0) missing.push(`${name}: no 2xx response`);
      for (const [status, response] of success) {
        if (status === '204') continue; // no content, nothing to describe
        const media = Object.values(response.content ?? {})[0];
        if (!media?.schema) missing.push(`${name}: ${status} has no schema`);
        else if (!hasExample(media, doc)) missing.push(`${name}: ${status} has no example`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('documents every operation\'s errors in the one error schema, with an example', () => {
    const missing: string[] = [];
    for (const { name, path, op } of operations) {
      const errors = Object.entries(op.responses).filter(([status]) => /^[45]\d\d$/.test(status));
      if (NO_CLIENT_ERRORS.has(name)) {
        // The exemption holds only while the route takes nothing: no parameter, no body, no credential.
        if ((op.parameters ?? []).length > 0 || op.requestBody || (op.security ?? []).length > 0) missing.push(`${name}: takes input, so it needs 4xx responses`);
      } else if (!errors.some(([status]) => status.startsWith('4'))) missing.push(`${name}: no 4xx response`);
      if (path.startsWith('/v1/') && !['401', '403', '429'].every((s) => op.responses[s])) missing.push(`${name}: 401, 403 or 429 missing`);
      for (const [status, response] of errors) {
        if (path === '/readyz' && status === '503') continue; // readiness answers its own report, with the checks
        const media = response.content?.['application/json'];
        if (media?.schema?.$ref !== '#/components/schemas/Error') missing.push(`${name}: ${status} is not the Error schema`);
        else if (!hasExample(media, doc)) missing.push(`${name}: ${status} has no example`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('documents a schema and an example for every request body', () => {
    const missing: string[] = [];
    for (const { name, op } of operations) {
      if (!op.requestBody) continue;
      const media = op.requestBody.content?.['application/json'];
      if (!media?.schema) missing.push(`${name}: body without a schema`);
      else if (!hasExample(media, doc)) missing.push(`${name}: body without an example`);
    }
    expect(missing).toEqual([]);
  });

  it('documents the request body of every POST and PUT that reads one', () => {
    const bodiless = new Set(['POST /v1/requests/{id}/cancel', 'POST /v1/erasures/{id}/cancel']);
    const missing = operations
      .filter(({ name, method, op }) => (method === 'post' || method === 'put') && !op.requestBody && !bodiless.has(name))
      .map(({ name }) => name);
    expect(missing).toEqual([]);
  });
});
