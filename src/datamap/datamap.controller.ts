import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { DataMapSchema } from '../http/dto/datamap.dto';
import { openApiSchema } from '../http/zod-body';
import { DataMap } from './datamap.types';
import { DatamapService } from './datamap.service';

@ApiTags('datamap')
@Controller('v1/datamap')
export class DatamapController {
  constructor(private readonly datamap: DatamapService) {}

  /** The data map as discovered and overridden, with its lints. */
  @Get()
  @ApiOkResponse({ description: 'tables, their tenancy and erasure actions, and lints', schema: openApiSchema(DataMapSchema, 'output') })
  get(): Promise<DataMap> {
    return this.datamap.load();
  }
}
