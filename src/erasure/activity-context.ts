import { ApplicationFailure, Context } from '@temporalio/activity';
import { DomainError } from '../errors';

/** The part of Temporal's activity context a purge uses; tests pass a stand-in. */
export interface ActivityContextLike {
  info: { heartbeatDetails?: unknown };
  heartbeat(details?: unknown): void;
  cancellationSignal?: AbortSignal;
}

/** The running activity's context, or undefined when called directly (a test, the CLI). */
export function currentActivity(): ActivityContextLike | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Inside an activity, a domain error (bad input, legal hold…) becomes a
 * non-retryable ApplicationFailure whose type is the error's code: no retry
 * can cure it. Other errors stay as they are, so Temporal retries them.
 * Called directly, the DomainError itself goes up, for the HTTP filter or CLI.
 */
export function toActivityFailure(error: unknown, inActivity: boolean): unknown {
  if (!inActivity || !(error instanceof DomainError)) return error;
  return ApplicationFailure.create({
    type: error.code,
    message: error.message,
    nonRetryable: true,
    details: [{ kind: error.kind, code: error.code, ...(error.details ?? {}) }],
  });
}
