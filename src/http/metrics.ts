import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Histogram, Registry } from 'prom-client';
import { processRegistry } from '../metrics/registry';
import { Public } from './access';

/**
 * Prometheus metrics of this API instance; its capabilities add theirs to
 * `registry`. Per instance (tests run several in one process, each with its
 * own catalog); what belongs to the process (Node's runtime, the worker's
 * work) lives in processRegistry(), and /metrics serves both.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'compliance_ops_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'compliance_ops_http_request_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    // Node's runtime metrics start now, not at the first scrape.
    processRegistry();
  }

  /** This instance's metrics and the process's (the worker's too when it runs here), in one text. */
  scrape(): Promise<string> {
    return Registry.merge([processRegistry(), this.registry]).metrics();
  }
}

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Public()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
