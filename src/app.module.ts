import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Config, loadConfig } from './config';
import { AuditModule } from './audit/audit.module';
import { AppDatabase, CatalogDatabase } from './db/databases';
import { createPool } from './db/pool';
import { AuthGuard } from './http/auth.guard';
import { ErrorFilter } from './http/error.filter';
import { workflowLogInterceptor } from './http/workflow-log.interceptor';
import { HealthController } from './http/health.controller';
import { Metrics, MetricsController } from './http/metrics';
import { DatamapModule } from './datamap/datamap.module';
import { ErasuresModule } from './erasure/erasures.module';
import { ExportsModule } from './export/exports.module';
import { createKmsClient } from './kms/kms';
import { ReceiptsModule } from './receipts/receipts.module';
import { RequestsModule } from './requests/requests.module';
import { RestoresModule } from './restore/restores.module';
import { RetentionModule } from './retention/retention.module';
import { createS3Client } from './s3/s3';
import { clientDataConverter } from './temporal/data-converter';

/**
 * The shared infrastructure every capability module uses: configuration, the
 * two databases, Temporal, S3 and KMS clients. Global so capability modules
 * import nothing but their own parts.
 */
@Global()
@Module({
  providers: [
    { provide: Config, useFactory: () => loadConfig() },
    { provide: AppDatabase, inject: [Config], useFactory: (c: Config) => new AppDatabase(createPool(c.DATABASE_URL)) },
    { provide: CatalogDatabase, inject: [Config], useFactory: (c: Config) => new CatalogDatabase(createPool(c.CATALOG_DATABASE_URL)) },
    { provide: Connection, inject: [Config], useFactory: (c: Config) => Connection.connect({ address: c.TEMPORAL_ADDRESS }) },
    {
      provide: TemporalClient,
      inject: [Config, Connection],
      useFactory: (c: Config, connection: Connection) =>
        new TemporalClient({
          connection, namespace: c.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(c), interceptors: { workflow: [workflowLogInterceptor] },
        }),
    },
    { provide: S3Client, inject: [Config], useFactory: createS3Client },
    { provide: KMSClient, inject: [Config], useFactory: createKmsClient },
    Metrics,
  ],
  exports: [Config, AppDatabase, CatalogDatabase, Connection, TemporalClient, S3Client, KMSClient, Metrics],
})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    private readonly app: AppDatabase,
    private readonly catalog: CatalogDatabase,
    private readonly temporal: Connection,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.app.pool.end(), this.catalog.pool.end(), this.temporal.close()]);
  }
}

@Module({
  imports: [InfrastructureModule, RequestsModule, DatamapModule, ExportsModule, ErasuresModule, ReceiptsModule, AuditModule, RetentionModule, RestoresModule],
  controllers: [HealthController, MetricsController],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ErrorFilter },
  ],
})
export class AppModule {}
