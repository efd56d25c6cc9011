import { Module } from '@nestjs/common';
import { DatamapController } from './datamap.controller';
import { DatamapService } from './datamap.service';

/** The data map capability. AppDatabase and Config come from the global providers. */
@Module({
  controllers: [DatamapController],
  providers: [DatamapService],
  exports: [DatamapService],
})
export class DatamapModule {}
