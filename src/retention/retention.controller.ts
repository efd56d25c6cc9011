import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiHeader, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DatamapService } from '../datamap/datamap.service';
import { badInput } from '../errors';
import { Allow } from '../http/access';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { RetentionPolicyListSchema, RetentionRunListSchema, RetentionRunSchema } from '../http/dto/retention.dto';
import { openApiSchema, ZodPipe } from '../http/zod-body';
import { RequestView } from '../requests/request.types';
import { parseTenantId } from '../tenants/tenants';
import { RetentionPolicies } from './retention-policies.service';
import { RetentionRuns } from './retention-runs.service';
import { RetentionPolicy } from './retention.types';
import { nextTick } from './schedule-window';

const RunBody = z.strictObject({ dryRun: z.boolean().default(false) });
type RunBody = z.infer<typeof RunBody>;

const RunsQuery = z.strictObject({
  policy: z.string().min(1).max(63).optional(),
  tenantId: z.string().min(1).max(128).optional(),
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const IdempotencyKey = z.string().regex(/^[\w.:-]{1,128}$/);

@ApiTags('retention')
@Controller('v1')
export class RetentionController {
  constructor(
    private readonly policies: RetentionPolicies,
    private readonly runs: RetentionRuns,
    private readonly datamap: DatamapService,
  ) {}

  @Get('retention-policies')
  @Allow('operator', 'auditor')
  @ApiOkResponse({ description: 'the configured policies, each with its next scheduled run', schema: openApiSchema(RetentionPolicyListSchema, 'output') })
  list(): { items: Array<RetentionPolicy & { nextRunAt: string }> } {
    return { items: this.policies.list().map((p) => ({ ...p, nextRunAt: nextTick(p.schedule).toISOString() })) };
  }

  @Get('retention-runs')
  @Allow('operator', 'auditor')
  @ApiQuery({ name: 'policy', required: false, schema: { type: 'string', minLength: 1, maxLength: 63 } })
  @ApiQuery({ name: 'tenantId', required: false, description: 'runs whose result lists this tenant (finished runs)', schema: { type: 'string', minLength: 1, maxLength: 128 } })
  @ApiQuery({ name: 'after', required: false, description: 'cursor: the last id of the previous page', schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiOkResponse({ description: 'runs, newest first, each with its per-tenant counts, skipped tenants and receipt ids', schema: openApiSchema(RetentionRunListSchema, 'output') })
  async listRuns(@Query() query: unknown): Promise<{ items: RequestView[]; next: string | null }> {
    const parsed = RunsQuery.safeParse(query);
    if (!parsed.success) {
      throw badInput('invalid_query', 'the query string is not valid', {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const filter = parsed.data;
    if (filter.tenantId) filter.tenantId = parseTenantId(await this.datamap.load(), filter.tenantId);
    const items = await this.runs.list(filter);
    return { items, next: items.length === filter.limit ? items[items.length - 1].id : null };
  }

  @Post('retention-policies/:name/run')
  @HttpCode(202)
  @ApiBody({
    schema: openApiSchema(RunBody),
    examples: {
      dryRun: { summary: 'count per tenant what would go; change nothing', value: { dryRun: true } },
      purge: { summary: 'purge now', value: { dryRun: false } },
    },
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'same key and body → the first run' })
  @ApiAcceptedResponse({
    description: 'the run (a request of kind retention); a dry run counts per tenant and changes nothing',
    schema: openApiSchema(RetentionRunSchema, 'output'),
  })
  async run(
    @Param('name') name: string,
    @Body(new ZodPipe(RunBody)) body: RunBody,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: AuthenticatedRequest,
  ): Promise<RequestView> {
    if (idempotencyKey !== undefined && !IdempotencyKey.safeParse(idempotencyKey).success) {
      throw badInput('invalid_idempotency_key', 'Idempotency-Key is 1–128 letters, digits, `_ . : -`');
    }
    const policy = this.policies.get(name);
    return this.runs.startNow(policy, { dryRun: body.dryRun, principal: req.principal!, idempotencyKey, from: req.ip });
  }
}
