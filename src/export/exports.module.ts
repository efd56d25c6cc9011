import { Module } from '@nestjs/common';
import { DatamapModule } from '../datamap/datamap.module';
import { RequestsModule } from '../requests/requests.module';
import { ExportsController } from './exports.controller';

@Module({ imports: [DatamapModule, RequestsModule], controllers: [ExportsController] })
export class ExportsModule {}
