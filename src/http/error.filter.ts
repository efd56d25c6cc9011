import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { sqlState } from '../db/sqlstate';
import { DomainError, HTTP_STATUS } from '../errors';
import { logger } from '../logger';

/** HTTP statuses Nest or Express raise themselves, with our stable codes. */
const FRAMEWORK_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** SQLSTATEs for input text Postgres cannot store: 22021 (NUL in text), 22P05 (\u0000 in jsonb). */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/**
 * The one place errors become HTTP: `{code, message, details?, requestId}`.
 * Unknown errors are a plain 500 that leaks no stack, SQL or secret; the log
 * keeps the detail under the same request id.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string }>();
    const response = http.getResponse<Response>();
    const requestId = String(request.id ?? request.headers['x-request-id'] ?? '');
    const [status, body] = this.describe(error);
    if (status >= 500) logger.error({ err: error, requestId, path: request.path }, 'request failed');
    response.status(status).json({ ...body, requestId });
  }

  private describe(error: unknown): [number, { code: string; message: string; details?: unknown }] {
    if (error instanceof DomainError) {
      return [HTTP_STATUS[error.kind], { code: error.code, message: error.message, details: error.details }];
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const code = FRAMEWORK_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
      return [status, { code, message: status >= 500 ? 'internal error' : error.message }];
    }
    // Text Postgres cannot store (a NUL byte) can hide in any string a client sends: the client's fault, not ours.
    if (UNSTORABLE_TEXT.has(sqlState(error) ?? '')) {
      return [400, { code: 'invalid_characters', message: 'text may not contain NUL (U+0000) characters' }];
    }
    // body-parser errors (malformed JSON, body too large) carry a status of their own.
    const status = (error as { status?: number; type?: string }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (error as { type?: string }).type;
      const message = type === 'entity.too.large' ? 'the request body is too large' : 'the request body is not valid JSON';
      return [status, { code: FRAMEWORK_CODES[status] ?? 'bad_request', message }];
    }
    return [500, { code: 'internal_error', message: 'internal error; the log has the detail under this requestId' }];
  }
}
