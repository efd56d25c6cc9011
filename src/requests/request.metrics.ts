import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { CatalogDatabase } from '../db/databases';
import { Metrics } from '../http/metrics';

/**
 * Requests by kind and status, read from the catalog at scrape time: every
 * API replica reports the same truth, and a failed workflow shows up as
 * `status="failed"` without anyone having to count it.
 */
@Injectable()
export class RequestMetrics {
  constructor(metrics: Metrics, catalog: CatalogDatabase) {
    new Gauge({
      name: 'compliance_ops_requests',
      help: 'Requests in the catalog by kind and status',
      labelNames: ['kind', 'status'] as const,
      registers: [metrics.registry],
      async collect() {
        const { rows } = await catalog.pool.query<{ kind: string; status: string; n: string }>(
          'SELECT kind, status, count(*) AS n FROM requests GROUP BY kind, status');
        this.reset();
        for (const row of rows) this.set({ kind: row.kind, status: row.status }, Number(row.n));
      },
    });
  }
}
