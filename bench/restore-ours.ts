import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { DEMO_DATAMAP_CONFIG, loadDatamapConfig } from '../src/datamap/datamap.config';
import { DataMap } from '../src/datamap/datamap.types';
import { discoverDataMap } from '../src/datamap/discover';
import { createPool } from '../src/db/pool';
import { kmsKeyring } from '../src/kms/keyring';
import { createKmsClient } from '../src/kms/kms';
import { snapshotsPrefixOfTenant, walPrefixOfTenant } from '../src/restore/archive-layout';
import { WalArchiver } from '../src/restore/archiver';
import { RestoreDependencies, RestoreResult, runRestore } from '../src/restore/run-restore';
import { takeTenantSnapshot, TenantSnapshot } from '../src/restore/tenant-snapshot';
import { deletePrefix } from '../src/s3/prefix';
import { createS3Client } from '../src/s3/s3';
import { LOCAL_PG_SERVICE_ROLE } from '../src/stack/endpoints';
import { ScratchCluster } from './scratch-cluster';

/** Our archive's slot and publication in the scratch cluster. */
export const ARCHIVE = { slot: 'bench_archive', publication: 'bench_archive' };

/**
 * The service's restore path pointed at the scratch cluster: the application
 * database as the service role (RLS applies, as in production), the catalog
 * in the same cluster, S3 and KMS of the local stack, and an archiver that
 * owns the publication (created as the tables' owner).
 */
export interface OurRestorePath {
  deps: RestoreDependencies;
  map: DataMap;
  archiver: WalArchiver;
  snapshot(tenantId: string): Promise<TenantSnapshot>;
  /** the result, and how long each stage took (`archive 0.12, load 1.40, …`) */
  restoreInPlace(tenantId: string, time: string): Promise<RestoreResult & { stageSeconds: string }>;
  /** deletes what this run wrote to S3 and closes the pools */
  close(tenantIds: string[]): Promise<void>;
}

export async function openOurRestorePath(cluster: ScratchCluster, databases: { app: string; catalog: string }): Promise<OurRestorePath> {
  const config = loadConfig();
  const appPool: Pool = createPool(cluster.primary.url(databases.app, LOCAL_PG_SERVICE_ROLE), 6);
  const catalogPool: Pool = createPool(cluster.primary.url(databases.catalog), 4);
  const s3 = createS3Client(config);
  const kms = createKmsClient(config);
  const map = await discoverDataMap(appPool, { tenantColumn: 'tenant_id', config: loadDatamapConfig(DEMO_DATAMAP_CONFIG) });
  const archiver = new WalArchiver({
    replicationUrl: cluster.primary.url(databases.app), catalogPool, s3, bucket: config.S3_EXPORT_BUCKET,
    sseKmsKeyId: config.S3_SSE_KMS_KEY_ID, keyring: kmsKeyring(config, config.KMS_EXPORT_KEY_ARN), loadDataMap: async () => map,
  }, ARCHIVE);
  const deps: RestoreDependencies = { config, appPool, catalogPool, s3, kms, archiver, subjectHashSecret: config.SUBJECT_HASH_SECRET };
  return {
    deps,
    map,
    archiver,
    snapshot: (tenantId) => takeTenantSnapshot({ config, appPool, s3, kms, catalogPool }, map, tenantId),
    async restoreInPlace(tenantId, time) {
      const stages: Array<[string, bigint]> = [['start', process.hrtime.bigint()]];
      const result = await runRestore(deps, map, { restoreId: randomUUID(), tenantId, target: { time }, mode: 'in-place' }, (stage) => stages.push([stage, process.hrtime.bigint()]));
      stages.push(['end', process.hrtime.bigint()]);
      // How long each stage took: the stage named is the one that ran until the next began.
      const seconds = stages.slice(0, -1).map(([name, at], i) => `${name} ${(Number(stages[i + 1][1] - at) / 1e9).toFixed(2)}`);
      return { ...result, stageSeconds: seconds.join(', ') };
    },
    async close(tenantIds) {
      // Not the table-wide `*` folder: other runs share it, and this workload never truncates.
      for (const prefix of tenantIds.flatMap((t) => [snapshotsPrefixOfTenant(t), walPrefixOfTenant(t)])) {
        await deletePrefix(s3, config.S3_EXPORT_BUCKET, prefix).catch(() => undefined);
      }
      await Promise.allSettled([appPool.end(), catalogPool.end()]);
      s3.destroy();
      kms.destroy();
    },
  };
}
