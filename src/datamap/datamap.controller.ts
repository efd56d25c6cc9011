import { Controller, Get } from '@nestjs/common';
import { DataMap } from './datamap.types';
import { DatamapService } from './datamap.service';

@Controller('v1/datamap')
export class DatamapController {
  constructor(private readonly datamap: DatamapService) {}

  /** The data map as discovered and overridden, with its lints. */
  @Get()
  get(): Promise<DataMap> {
    return this.datamap.load();
  }
}
