/**
 * Domain errors: thrown by services and activities alike, mapped to HTTP in
 * one filter (src/http/error.filter.ts) and to Temporal failures at the
 * activity edge. `code` is stable and documented; `message` says what to do.
 */
export type ErrorKind =
  | 'bad_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badInput = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('bad_input', code, message, details);

export const notFound = (code: string, message: string) => new DomainError('not_found', code, message);

export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('conflict', code, message, details);

export const HTTP_STATUS: Record<ErrorKind, number> = {
  bad_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};
