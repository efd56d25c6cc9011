import { Module } from '@nestjs/common';
import { DatamapModule } from '../datamap/datamap.module';
import { RequestsModule } from '../requests/requests.module';
import { RestoresController } from './restores.controller';

@Module({ imports: [DatamapModule, RequestsModule], controllers: [RestoresController] })
export class RestoresModule {}
