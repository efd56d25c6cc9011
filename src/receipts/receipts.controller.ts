import { Controller, Get, Header, Param, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { badInput, notFound } from '../errors';
import { Allow, Public } from '../http/access';
import { JwksSchema, ReceiptListSchema, ReceiptViewSchema } from '../http/dto/receipts.dto';
import { TenantIdQuery, tenantIdQuerySchema } from '../http/dto/tenant-id';
import { openApiSchema } from '../http/zod-body';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { Jwks } from './keys';
import { ReceiptView } from './receipt.types';
import { ReceiptsService } from './receipts.service';

const ReceiptId = z.uuid();
const ListQuery = z.strictObject({
  tenantId: TenantIdQuery.optional(),
  /** cursor: the last log index of the previous page */
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

@ApiTags('receipts')
@Controller()
export class ReceiptsController {
  constructor(private readonly receipts: ReceiptsService) {}

  /** Public: anyone may check a receipt, so anyone may fetch the keys (and should pin them out of band). */
  @Get('.well-known/jwks.json')
  @Public()
  @Header('cache-control', 'public, max-age=300')
  @ApiOkResponse({ description: 'the receipts and checkpoint public keys (ES256), kid = RFC 7638 thumbprint', schema: openApiSchema(JwksSchema, 'output') })
  jwks(): Promise<Jwks> {
    return this.receipts.jwks();
  }

  @Get('v1/receipts/:id')
  @Allow('operator', 'auditor', 'tenant-admin')
  @ApiOkResponse({ description: 'one signed receipt: the JWS, its decoded payload, log index and digest', schema: openApiSchema(ReceiptViewSchema, 'output') })
  async get(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<ReceiptView> {
    if (!ReceiptId.safeParse(id).success) throw badInput('invalid_receipt_id', 'a receipt id is a UUID');
    const receipt = await this.receipts.get(id);
    // A tenant admin cannot tell another tenant's receipt from a missing one.
    if (!receipt || (req.principal?.role === 'tenant-admin' && receipt.tenantId !== req.principal.tenantId)) {
      throw notFound('receipt_not_found', `no receipt ${id}`);
    }
    return receipt;
  }

  @Get('v1/receipts')
  @Allow('operator', 'auditor', 'tenant-admin')
  @ApiQuery({ name: 'tenantId', required: false, schema: tenantIdQuerySchema })
  @ApiQuery({ name: 'after', required: false, description: 'cursor: the last logIndex of the previous page', schema: { type: 'integer', minimum: 0 } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiOkResponse({ description: 'oldest first, by log index', schema: openApiSchema(ReceiptListSchema, 'output') })
  async list(@Query() query: unknown, @Req() req: AuthenticatedRequest): Promise<{ items: ReceiptView[]; next: number | null }> {
    const parsed = ListQuery.safeParse(query);
    if (!parsed.success) {
      throw badInput('invalid_query', 'the query string is not valid', {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const { tenantId, after, limit } = parsed.data;
    // A tenant admin sees its own tenant's receipts whatever it asks for.
    const tenant = req.principal?.role === 'tenant-admin' ? req.principal.tenantId : tenantId;
    const items = await this.receipts.list({ tenantId: tenant, afterIndex: after, limit });
    return { items, next: items.length === limit ? items[items.length - 1].logIndex : null };
  }
}
