import { Injectable } from '@nestjs/common';
import { Config } from '../config';
import { AppDatabase } from '../db/databases';
import { datamapConfigPath, loadDatamapConfig } from './datamap.config';
import { DataMap } from './datamap.types';
import { discoverDataMap } from './discover';

/**
 * The application database's data map, discovered once and kept: the schema
 * changes with deploys, not per request. `refresh()` after a migration.
 */
@Injectable()
export class DatamapService {
  private cached: Promise<DataMap> | undefined;

  constructor(
    private readonly app: AppDatabase,
    private readonly config: Config,
  ) {}

  load(): Promise<DataMap> {
    if (!this.cached) {
      const discovery = this.discover();
      // A failed discovery (database down, bad config file) is not cached: the next call tries again.
      discovery.catch(() => {
        if (this.cached === discovery) this.cached = undefined;
      });
      this.cached = discovery;
    }
    return this.cached;
  }

  refresh(): Promise<DataMap> {
    this.cached = undefined;
    return this.load();
  }

  private async discover(): Promise<DataMap> {
    const file = datamapConfigPath(this.config);
    return discoverDataMap(this.app.pool, {
      tenantColumn: this.config.TENANT_COLUMN,
      config: file ? loadDatamapConfig(file) : undefined,
    });
  }
}
