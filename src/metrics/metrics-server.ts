import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { processRegistry } from './registry';

/**
 * `GET /metrics` of the process registry on 127.0.0.1, for a worker running
 * alone (`compliance-ops worker`). Loopback only: a scraper on the same host,
 * or a sidecar, reaches it; nothing else needs to.
 */
export async function serveProcessMetrics(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const registry = processRegistry();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
