import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { AppModule } from './app.module';
import { Config } from './config';
import { Metrics } from './http/metrics';
import { mountOpenApi } from './http/openapi';
import { LogContext, logContext, logger, PinoNestLogger } from './logger';

/** Bodies are small JSON documents; anything larger is refused before parsing. */
const BODY_LIMIT = '64kb';

/** `TRUST_PROXY` as Express takes it: a hop count, true/false, or addresses and names such as `loopback`. */
function trustProxySetting(value: string): number | boolean | string {
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

export async function createApi(): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: new PinoNestLogger(),
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: BODY_LIMIT, strict: true });
  app.disable('x-powered-by');
  const metrics = app.get(Metrics);
  const config = app.get(Config);
  if (config.TRUST_PROXY !== undefined) app.set('trust proxy', trustProxySetting(config.TRUST_PROXY));
  app.use((req: Request & { id?: string }, res: Response, next: NextFunction) => {
    const supplied = req.headers['x-request-id'];
    req.id = typeof supplied === 'string' && /^[\w-]{1,64}$/.test(supplied) ? supplied : randomUUID();
    res.setHeader('x-request-id', req.id);
    // Filled in as the request goes: the guard adds the path's tenant, the Temporal client the workflow id.
    const context: LogContext = { requestId: req.id };
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      logger.info({ ...context, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http');
    });
    logContext.run(context, next);
  });
  mountOpenApi(app);
  app.enableShutdownHooks();
  return app;
}

export async function serveApi(): Promise<INestApplication> {
  const app = await createApi();
  const config = app.get(Config);
  await app.listen(config.PORT, config.HOST);
  return app;
}
