import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Config } from '../config';
import { AppDatabase } from '../db/databases';
import { Metrics } from '../http/metrics';
import { readSlotHealth } from './archiver-health';
import { archiveNamesFor } from './restore.activities';

/**
 * The archive slot's lag and WAL safety margin, read from
 * pg_replication_slots at scrape time: true whether or not this process runs
 * the archiver, and with no sample at all when there is no slot (alert on
 * absence too). Alert when safe bytes fall towards zero: at zero Postgres
 * invalidates the slot and the archive has a gap.
 */
@Injectable()
export class ArchiverMetrics {
  constructor(metrics: Metrics, config: Config, app: AppDatabase) {
    const { slot } = archiveNamesFor(config.DATABASE_URL);
    const read = () => readSlotHealth(app.pool, slot);
    new Gauge({
      name: 'compliance_ops_wal_slot_lag_bytes',
      help: 'WAL written since the archive slot was last confirmed (pg_current_wal_lsn() - confirmed_flush_lsn)',
      labelNames: ['slot'] as const,
      registers: [metrics.registry],
      async collect() {
        const h = await read();
        this.reset();
        if (h?.lagBytes != null) this.set({ slot }, h.lagBytes);
      },
    });
    new Gauge({
      name: 'compliance_ops_wal_slot_safe_bytes',
      help: 'How much more WAL the archive slot may hold before max_slot_wal_keep_size invalidates it (pg_replication_slots.safe_wal_size; absent when unlimited)',
      labelNames: ['slot'] as const,
      registers: [metrics.registry],
      async collect() {
        const h = await read();
        this.reset();
        if (h?.safeWalBytes != null) this.set({ slot }, h.safeWalBytes);
      },
    });
  }
}
