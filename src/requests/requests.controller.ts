import { Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { badInput, notFound } from '../errors';
import { Allow } from '../http/access';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { TenantIdQuery, tenantIdQuerySchema } from '../http/dto/tenant-id';
import { openApiSchema, parseQuery } from '../http/zod-body';
import { RequestListSchema, RequestViewSchema } from './request.dto';
import { RequestCancellation } from './request-cancellation';
import { REQUEST_KINDS, REQUEST_STATUSES, RequestView } from './request.types';
import { Requests } from './requests.provider';

// Other capabilities import the provider from here.
export { Requests } from './requests.provider';

const RequestId = z.uuid();
const ListQuery = z.strictObject({
  tenantId: TenantIdQuery.optional(),
  kind: z.enum(REQUEST_KINDS).optional(),
  status: z.enum(REQUEST_STATUSES).optional(),
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

@ApiTags('requests')
@Controller('v1/requests')
export class RequestsController {
  constructor(private readonly requests: Requests, private readonly cancellation: RequestCancellation) {}

  @Get(':id')
  @Allow('operator', 'tenant-admin')
  @ApiOkResponse({ description: 'status, progress, result and receipt of one request', schema: openApiSchema(RequestViewSchema, 'output') })
  async get(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<RequestView> {
    if (!RequestId.safeParse(id).success) throw badInput('invalid_request_id', 'a request id is a UUID');
    const request = await this.requests.get(id);
    // A tenant admin cannot tell another tenant's request from a missing one.
    if (!request || (req.principal?.role === 'tenant-admin' && request.tenantId !== req.principal.tenantId)) {
      throw notFound('request_not_found', `no request ${id}`);
    }
    return request;
  }

  /** Any kind; erasures only while they wait. The workflow records `cancelled` once it has stopped. */
  @Post(':id/cancel')
  @HttpCode(202)
  @Allow('operator', 'tenant-admin')
  @ApiAcceptedResponse({ description: 'cancellation asked of the workflow; poll the request for `cancelled`', schema: openApiSchema(RequestViewSchema, 'output') })
  async cancel(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<RequestView> {
    if (!RequestId.safeParse(id).success) throw badInput('invalid_request_id', 'a request id is a UUID');
    return this.cancellation.cancel(id, req.principal!, req.ip);
  }

  @Get()
  @Allow('operator', 'tenant-admin')
  @ApiQuery({ name: 'tenantId', required: false, schema: tenantIdQuerySchema })
  @ApiQuery({ name: 'kind', required: false, enum: REQUEST_KINDS })
  @ApiQuery({ name: 'status', required: false, enum: REQUEST_STATUSES })
  @ApiQuery({ name: 'after', required: false, description: 'cursor: `next` of the previous page', schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiOkResponse({ description: 'newest first', schema: openApiSchema(RequestListSchema, 'output') })
  async list(@Query() query: unknown, @Req() req: AuthenticatedRequest): Promise<{ items: RequestView[]; next: string | null }> {
    const filter = parseQuery(ListQuery, query);
    // A tenant admin sees its own tenant's requests whatever it asks for.
    if (req.principal?.role === 'tenant-admin') filter.tenantId = req.principal.tenantId;
    const items = await this.requests.list(filter);
    return { items, next: items.length === filter.limit ? items[items.length - 1].id : null };
  }
}
