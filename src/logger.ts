import { AsyncLocalStorage } from 'node:async_hooks';
import { LoggerService } from '@nestjs/common';
import pino from 'pino';

/** What every log line written while serving one HTTP request carries. */
export interface LogContext {
  requestId: string;
  /** the `:tenantId` of the route, when it has one */
  tenantId?: string;
  /** the workflow this request started, signalled or cancelled */
  workflowId?: string;
}

/** Set per HTTP request in api.ts; read by the logger's mixin, so no call site has to pass it along. */
export const logContext = new AsyncLocalStorage<LogContext>();

/** Adds fields to the current request's log context; outside a request it does nothing. */
export function annotateLog(fields: Partial<LogContext>): void {
  const context = logContext.getStore();
  if (context) Object.assign(context, fields);
}

/**
 * One JSON logger for the API and the worker. Anything that may hold a secret
 * or a data subject's identifier is redacted by path before it is written.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'compliance-ops' },
  mixin: () => ({ ...logContext.getStore() }),
  redact: {
    paths: ['req.headers.authorization', 'headers.authorization', '*.headers.authorization', 'authorization', 'token', '*.token',
      'secret', '*.secret', 'apiKey', '*.apiKey', 'subject.value', '*.subject.value', 'password', '*.password'],
    censor: '[redacted]',
  },
});

/** Nest's own messages go through the same logger. */
export class PinoNestLogger implements LoggerService {
  log(message: unknown, context?: string) { logger.info({ context }, String(message)); }
  error(message: unknown, trace?: string, context?: string) { logger.error({ context, trace }, String(message)); }
  warn(message: unknown, context?: string) { logger.warn({ context }, String(message)); }
  debug(message: unknown, context?: string) { logger.debug({ context }, String(message)); }
  verbose(message: unknown, context?: string) { logger.trace({ context }, String(message)); }
}
