import { Command } from 'commander';
import { Config, ConfigError, loadConfig } from '../config';
import { createPool } from '../db/pool';
import { localEndpoints } from '../stack/endpoints';
import { DatamapConfigFile, datamapConfigPath, DEMO_DATAMAP_CONFIG, loadDatamapConfig } from './datamap.config';
import { DatamapConfigError, DatamapDiscoveryError } from './datamap.errors';
import { discoverDataMap } from './discover';
import { formatDataMap } from './format';

interface DatamapOptions {
  json?: boolean;
  databaseUrl?: string;
  config?: string;
  tenantColumn?: string;
}

/** Exit code for a data map that cannot be built as configured; lints alone never fail the command. */
const EXIT_CONFIG_ERROR = 2;

export function datamapCommand(): Command {
  return new Command('datamap')
    .description('show the data map: tenant, child and global tables, erasure actions, and schema lints')
    .option('--json', 'print the data map as JSON')
    .option('--database-url <url>', 'application database (default: DATABASE_URL, else the local demo database)')
    .option('--config <file>', 'data map override file (default: DATAMAP_CONFIG with DATABASE_URL, the demo file with the demo database)')
    .option('--tenant-column <name>', 'tenant column, overriding TENANT_COLUMN and the config file')
    .action(async (options: DatamapOptions) => {
      try {
        const output = await runDatamap(options);
        process.stdout.write(output);
      } catch (error) {
        if (!(error instanceof DatamapConfigError || error instanceof DatamapDiscoveryError)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = EXIT_CONFIG_ERROR;
      }
    });
}

async function runDatamap(options: DatamapOptions): Promise<string> {
  const env = loadConfigIfPresent();
  // The implicit override file belongs to the implicit database: DATAMAP_CONFIG
  // to DATABASE_URL, the demo file to the local demo. --database-url takes neither.
  const [databaseUrl, defaultConfig] =
    options.databaseUrl !== undefined ? [options.databaseUrl, undefined]
    : env ? [env.DATABASE_URL, datamapConfigPath(env)]
    : [localEndpoints().demoUrl, DEMO_DATAMAP_CONFIG];
  const configPath = options.config ?? defaultConfig;
  const config = configPath ? withTenantColumn(loadDatamapConfig(configPath), options.tenantColumn) : undefined;

  const pool = createPool(databaseUrl, 1);
  try {
    const map = await discoverDataMap(pool, {
      tenantColumn: options.tenantColumn ?? env?.TENANT_COLUMN ?? 'tenant_id',
      config,
    });
    return options.json ? `${JSON.stringify(map, null, 2)}\n` : formatDataMap(map);
  } finally {
    await pool.end();
  }
}

/** The service configuration if the environment (or a running local stack) provides one. */
function loadConfigIfPresent(): Config | undefined {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}

/** --tenant-column beats the file's tenantColumn, which beats TENANT_COLUMN. */
function withTenantColumn(file: DatamapConfigFile, tenantColumn: string | undefined): DatamapConfigFile {
  return tenantColumn ? { ...file, overrides: { ...file.overrides, tenantColumn } } : file;
}
