import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/**
 * The process's own Prometheus registry, reachable without Nest: the worker's
 * metrics and Node's runtime metrics. The API's /metrics serves it merged with
 * the API's registry, so a worker running inside `compliance-ops start` shows
 * up there; a worker alone serves it itself (metrics-server.ts).
 */
export function processRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'compliance_ops_' });
  }
  return registry;
}
