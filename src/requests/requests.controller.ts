import { Controller, Get, Injectable, Param, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CatalogDatabase } from '../db/databases';
import { badInput, notFound } from '../errors';
import { Allow } from '../http/access';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { REQUEST_KINDS, REQUEST_STATUSES, RequestView } from './request.types';
import { RequestsRepository } from './requests.repository';

@Injectable()
export class Requests extends RequestsRepository {
  constructor(catalog: CatalogDatabase) {
    super(catalog.pool);
  }
}

const RequestId = z.uuid();
const ListQuery = z.strictObject({
  tenantId: z.string().min(1).max(128).optional(),
  kind: z.enum(REQUEST_KINDS).optional(),
  status: z.enum(REQUEST_STATUSES).optional(),
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

@ApiTags('requests')
@Controller('v1/requests')
export class RequestsController {
  constructor(private readonly requests: Requests) {}

  @Get(':id')
  @Allow('operator', 'tenant-admin')
  @ApiOkResponse({ description: 'status, progress, result and receipt of one request' })
  async get(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<RequestView> {
    if (!RequestId.safeParse(id).success) throw badInput('invalid_request_id', 'a request id is a UUID');
    const request = await this.requests.get(id);
    // A tenant admin cannot tell another tenant's request from a missing one.
    if (!request || (req.principal?.role === 'tenant-admin' && request.tenantId !== req.principal.tenantId)) {
      throw notFound('request_not_found', `no request ${id}`);
    }
    return request;
  }

  @Get()
  @Allow('operator', 'tenant-admin')
  @ApiQuery({ name: 'tenantId', required: false })
  @ApiQuery({ name: 'kind', required: false, enum: REQUEST_KINDS })
  @ApiQuery({ name: 'status', required: false, enum: REQUEST_STATUSES })
  @ApiQuery({ name: 'after', required: false, description: 'cursor: the last id of the previous page' })
  @ApiQuery({ name: 'limit', required: false })
  async list(@Query() query: unknown, @Req() req: AuthenticatedRequest): Promise<{ items: RequestView[]; next: string | null }> {
    const parsed = ListQuery.safeParse(query);
    if (!parsed.success) {
      throw badInput('invalid_query', 'the query string is not valid', {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const filter = parsed.data;
    if (req.principal?.role === 'tenant-admin') filter.tenantId = req.principal.tenantId;
    const items = await this.requests.list(filter);
    return { items, next: items.length === filter.limit ? items[items.length - 1].id : null };
  }
}
