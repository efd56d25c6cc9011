import { LoggerService } from '@nestjs/common';
import pino from 'pino';

/**
 * One JSON logger for the API and the worker. Anything that may hold a secret
 * or a data subject's identifier is redacted by path before it is written.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'compliance-ops' },
  redact: {
    paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token', 'secret', '*.secret',
      'subject.value', '*.subject.value', 'password', '*.password'],
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
