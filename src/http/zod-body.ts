import { PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { badInput } from '../errors';

/**
 * No text this service stores or sends to Postgres may hold a NUL: Postgres
 * refuses it in text and jsonb, and in a COPY literal it would fail the
 * workflow long after the request was accepted. Refused up front, everywhere.
 */
function assertNoNul(value: unknown, path: string[] = []): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) {
      throw badInput('invalid_characters', 'text may not contain NUL (U+0000) characters', { path: path.join('.') });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoNul(item, [...path, String(i)]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) assertNoNul(item, [...path, key]);
  }
}

/** Validates a body against one zod schema per DTO; unknown fields are rejected by the schemas (`strict`). */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) {
      assertNoNul(parsed.data);
      return parsed.data;
    }
    throw badInput('invalid_body', 'the request body is not valid', {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
}

/**
 * OpenAPI 3.0 schema of a DTO, for @ApiBody (what a client may send: `input`)
 * or @ApiOkResponse (what the API answers: `output`). 3.0 because that is the
 * document Nest writes: nullable is `nullable: true`, not `type: null`.
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, target: 'openapi-3.0' }) as Record<string, unknown>;
  return rest;
}

/** Validates a query string against one zod schema; unknown parameters are rejected by the schemas (`strict`). */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) {
    assertNoNul(parsed.data);
    return parsed.data;
  }
  throw badInput('invalid_query', 'the query string is not valid', {
    issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}
