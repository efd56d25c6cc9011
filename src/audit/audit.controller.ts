import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CatalogDatabase } from '../db/databases';
import { Allow } from '../http/access';
import { TenantIdQuery, tenantIdQuerySchema } from '../http/dto/tenant-id';
import { openApiSchema, parseQuery } from '../http/zod-body';
import { AuditListSchema } from './audit.dto';
import { AuditEventsRepository, AuditEventView } from './audit-events.repository';

const AuditQuery = z.strictObject({
  requestId: z.uuid().optional(),
  tenantId: TenantIdQuery.optional(),
  after: z.string().regex(/^\d{1,18}$/, 'a cursor from a previous page').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

@ApiTags('audit')
@Controller('v1/audit-events')
export class AuditController {
  private readonly events: AuditEventsRepository;

  constructor(catalog: CatalogDatabase) {
    this.events = new AuditEventsRepository(catalog.pool);
  }

  /** Oldest first, as it was written; follow `next` to read on (also later, to tail the trail). */
  @Get()
  @Allow('operator', 'auditor')
  @ApiQuery({ name: 'requestId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'tenantId', required: false, schema: tenantIdQuerySchema })
  @ApiQuery({ name: 'after', required: false, description: 'cursor: `next` of the previous page', schema: { type: 'string', pattern: '^\\d{1,18}$' } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } })
  @ApiOkResponse({ description: 'who asked for what, when and from where, and every state change', schema: openApiSchema(AuditListSchema, 'output') })
  async list(@Query() query: unknown): Promise<{ items: AuditEventView[]; next: string | null }> {
    const filter = parseQuery(AuditQuery, query);
    const items = await this.events.list(filter);
    return { items, next: items.length === filter.limit ? items[items.length - 1].id : null };
  }
}
