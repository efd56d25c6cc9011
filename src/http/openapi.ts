import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ErrorBodySchema } from './dto/error.dto';
import { TENANT_ID_PATTERN } from './dto/tenant-id';
import { openApiSchema } from './zod-body';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;
type Parameter = { name: string; in: string; schema?: unknown; description?: string };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Path parameters by name: every id in this API is a UUID; tenant ids are checked against the data map's key type. */
const PATH_PARAMETERS: Record<string, { schema: Record<string, unknown>; description: string }> = {
  id: { schema: { type: 'string', format: 'uuid' }, description: 'a request id' },
  receiptId: { schema: { type: 'string', format: 'uuid' }, description: 'a receipt id' },
  restoreId: { schema: { type: 'string', format: 'uuid' }, description: "a restore's id (the id of its restore request)" },
  tenantId: {
    schema: { type: 'string', pattern: TENANT_ID_PATTERN },
    description: "a tenant id, of the type of the tenants table's key (uuid, bigint or text)",
  },
};

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const EXAMPLE_REQUEST_ID = '0b1d6c5e-2f0e-4f43-9a6e-6f0d2a7d8c11';
const error = (description: string, example: { code: string; message: string; details?: Record<string, unknown> }) => ({
  description,
  content: { 'application/json': { schema: ERROR_REF, example: { ...example, requestId: EXAMPLE_REQUEST_ID } } },
});

/**
 * The errors an operation can answer, from its shape; all are `{code, message, details?, requestId}`.
 * Declared so clients (and schemathesis) can check them, not just the happy path.
 */
function errorResponses(path: string, method: string, operation: Operation): Record<string, unknown> {
  const parameters = (operation.parameters ?? []) as Parameter[];
  const hasBody = operation.requestBody !== undefined;
  const responses: Record<string, unknown> = {};
  if (hasBody || parameters.length > 0) {
    responses['400'] = error('bad input: `code` names what (invalid_body, invalid_query, invalid_tenant_id…)', {
      code: 'invalid_body', message: 'the request body is not valid', details: { issues: [{ path: 'format', message: 'Invalid option: expected one of "csv"|"jsonl"' }] },
    });
  }
  if (path.startsWith('/v1/')) {
    responses['401'] = error('missing, expired or invalid credential', {
      code: 'invalid_token', message: 'the bearer token is missing, expired or not valid for this service',
    });
    responses['403'] = error('the role may not call this route (forbidden_role)', {
      code: 'forbidden_role', message: 'the auditor role may not call this route',
    });
    responses['429'] = {
      ...error('rate_limited: too many requests with this credential, across all API replicas', {
        code: 'rate_limited', message: 'too many requests with this credential; retry in 1 s', details: { retryAfterSeconds: 1 },
      }),
      headers: { 'Retry-After': { description: 'seconds until the credential may call again', schema: { type: 'integer', minimum: 1 } } },
    };
  }
  if (parameters.some((p) => p.in === 'path')) {
    responses['404'] = error('not found, or another tenant\'s (the same answer)', { code: 'tenant_not_found', message: 'no such tenant' });
  }
  if (method !== 'get') {
    responses['409'] = error('conflict with the current state (not_cancellable, idempotency_key_reused…)', {
      code: 'idempotency_key_reused', message: 'this Idempotency-Key was already used with a different request body',
    });
  }
  if (hasBody) responses['413'] = error('body_too_large: bodies are at most 64 KiB', { code: 'body_too_large', message: 'the request body is too large' });
  responses['503'] = error('a dependency (identity provider, Temporal, a database) is unavailable; retry', {
    code: 'auth_unavailable', message: 'the identity provider\'s keys could not be fetched; retry shortly',
  });
  return responses;
}

/** 202 answers are requests: say where to follow them, so a client (or a stateful fuzzer) can chain the calls. */
const REQUEST_LINKS = {
  GetRequest: { operationId: 'RequestsController_get', parameters: { id: '$response.body#/id' } },
  CancelRequest: { operationId: 'RequestsController_cancel', parameters: { id: '$response.body#/id' } },
};

const EXTRA_LINKS: Record<string, Record<string, unknown>> = {
  ExportsController_create: { DownloadExport: { operationId: 'ExportsController_download', parameters: { id: '$response.body#/id' } } },
  ErasuresController_create: { CancelErasure: { operationId: 'ErasuresController_cancel', parameters: { id: '$response.body#/id' } } },
};

/** What the decorators cannot say once for all routes: security, parameter formats, errors, links. */
export function completeDocument(document: OpenAPIObject): OpenAPIObject {
  document.components = document.components ?? {};
  document.components.schemas = { ...document.components.schemas, Error: openApiSchema(ErrorBodySchema, 'output') };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      // Health, readiness and the JWKS are public; every /v1 route takes a bearer credential.
      if (!path.startsWith('/v1/')) operation.security = [];
      for (const parameter of (operation.parameters ?? []) as Parameter[]) {
        const known = parameter.in === 'path' ? PATH_PARAMETERS[parameter.name] : undefined;
        if (known) Object.assign(parameter, { schema: known.schema, description: parameter.description ?? known.description });
      }
      const accepted = operation.responses['202'] as { links?: unknown } | undefined;
      if (accepted && !accepted.links) {
        accepted.links = { ...REQUEST_LINKS, ...(operation.operationId ? EXTRA_LINKS[operation.operationId] : {}) };
      }
      operation.responses = { ...errorResponses(path, method, operation), ...operation.responses } as Operation['responses'];
    }
  }
  return document;
}

/** The OpenAPI document is generated from the controllers, served at /openapi.json and browsable at /docs. */
export function mountOpenApi(app: INestApplication): void {
  const document = SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('compliance-ops')
    .setDescription('Exports, erasure with signed receipts, retention purges and single-tenant point-in-time restore ' +
      'for a multi-tenant PostgreSQL SaaS. Errors are `{code, message, details?, requestId}`. Credentials: a JWT ' +
      '(HS256 local, RS256/ES256 from an identity provider) or an API key (`coak_…`), as `Authorization: Bearer …`.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key' })
    .addSecurityRequirements('bearer')
    .build());
  SwaggerModule.setup('docs', app, completeDocument(document), { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
}
