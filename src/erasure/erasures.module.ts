import { Module } from '@nestjs/common';
import { DatamapModule } from '../datamap/datamap.module';
import { RequestsModule } from '../requests/requests.module';
import { ErasuresController } from './erasures.controller';

@Module({ imports: [DatamapModule, RequestsModule], controllers: [ErasuresController] })
export class ErasuresModule {}
