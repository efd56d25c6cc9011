import { Pool } from 'pg';
import { buildDataMap } from './build';
import { readCatalog } from './catalog';
import { DatamapConfigFile } from './datamap.config';
import { DataMap } from './datamap.types';
import { TENANT_SETTING } from './lint-fixes';

export interface DiscoverOptions {
  /** the tenant column unless the config file names one (TENANT_COLUMN) */
  tenantColumn: string;
  /** schemas to map; else the config file's, else `public` */
  schemas?: string[];
  config?: DatamapConfigFile;
}

/**
 * Discovers the data map of the database behind `pool`: reads the catalog,
 * applies the config file and lints the result. The pool may belong to a role
 * that owns nothing (the service role): only pg_catalog is read.
 */
export async function discoverDataMap(pool: Pool, options: DiscoverOptions): Promise<DataMap> {
  const schemas = options.schemas ?? options.config?.overrides.schemas ?? ['public'];
  const catalog = await readCatalog(pool, { schemas, tenantSetting: TENANT_SETTING });
  return buildDataMap(catalog, { tenantColumn: options.tenantColumn, config: options.config });
}
