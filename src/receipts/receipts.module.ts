import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { Module } from '@nestjs/common';
import { Config } from '../config';
import { CatalogDatabase } from '../db/databases';
import { ReceiptsController } from './receipts.controller';
import { ReceiptsService } from './receipts.service';
import { TransparencyController } from './transparency.controller';

/** Receipts and the transparency log. Config, the catalog, KMS and S3 come from the global InfrastructureModule. */
@Module({
  controllers: [ReceiptsController, TransparencyController],
  providers: [
    {
      provide: ReceiptsService,
      inject: [Config, CatalogDatabase, KMSClient, S3Client],
      useFactory: (config: Config, catalog: CatalogDatabase, kms: KMSClient, s3: S3Client) =>
        ReceiptsService.fromConfig(config, { pool: catalog.pool, kms, s3 }),
    },
  ],
  exports: [ReceiptsService],
})
export class ReceiptsModule {}
