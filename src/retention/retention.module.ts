import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { DatamapModule } from '../datamap/datamap.module';
import { RequestsModule } from '../requests/requests.module';
import { RetentionController } from './retention.controller';
import { RetentionPolicies } from './retention-policies.service';
import { RetentionRuns } from './retention-runs.service';
import { RetentionScheduler } from './retention.scheduler';

/**
 * Retention purges: policies from the config file, a cron per policy, runs
 * by hand. Config, the catalog and Temporal come from the global
 * InfrastructureModule; the worker runs the workflows and activities.
 */
@Module({
  imports: [ScheduleModule.forRoot(), DatamapModule, RequestsModule],
  controllers: [RetentionController],
  providers: [RetentionPolicies, RetentionRuns, RetentionScheduler],
  exports: [RetentionPolicies, RetentionRuns, RetentionScheduler],
})
export class RetentionModule {}
