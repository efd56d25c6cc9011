import { Module } from '@nestjs/common';
import { DatamapModule } from '../datamap/datamap.module';
import { RequestsModule } from '../requests/requests.module';
import { ArchiverController } from './archiver.controller';
import { ArchiverMetrics } from './archiver.metrics';
import { RestoresController } from './restores.controller';
import { SnapshotScheduler } from './snapshot.scheduler';

/** SnapshotScheduler needs the SchedulerRegistry of ScheduleModule.forRoot() (global, imported by RetentionModule). */
@Module({ imports: [DatamapModule, RequestsModule], controllers: [RestoresController, ArchiverController], providers: [SnapshotScheduler, ArchiverMetrics] })
export class RestoresModule {}
