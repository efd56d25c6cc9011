import { createHash, randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Client as TemporalClient, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { Config } from '../config';
import { DatamapService } from '../datamap/datamap.service';
import { AppDatabase, CatalogDatabase } from '../db/databases';
import { Allow } from '../http/access';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { openApiSchema, ZodPipe } from '../http/zod-body';
import { RequestViewSchema } from '../requests/request.dto';
import { Requests } from '../requests/requests.controller';
import { RequestView } from '../requests/request.types';
import { parseTenantId, requireTenant } from '../tenants/tenants';
import { RestoreWorkflowInput, SnapshotWorkflowInput, workflowIds } from '../../workflows/messages';
import { listRestorePoints, RestorePoints, RestorePointsSchema } from './restore-points';
import { preflightRestore } from './restore-preflight';
import { preflightReplayRange } from './replay-range';
import { restoredTables } from './staging';
import { archiveNamesFor } from './restore.activities';

const RestoreBody = z.strictObject({
  target: z.union([
    z.strictObject({ time: z.string().min(1).max(64).describe('ISO 8601 with an offset; inclusive') }),
    z.strictObject({ lsn: z.string().min(3).max(17).describe('as Postgres prints it, e.g. 0/16B3748; transactions whose commit starts before it') }),
  ]),
  mode: z.enum(['staging', 'in-place']).default('staging'),
});
type RestoreBody = z.infer<typeof RestoreBody>;

const SnapshotBody = z.strictObject({}).optional();

/** Restores are operator-only: an in-place restore rewrites a tenant's data. */
@ApiTags('restores')
@Controller('v1')
export class RestoresController {
  constructor(
    private readonly config: Config,
    private readonly app: AppDatabase,
    private readonly catalog: CatalogDatabase,
    private readonly datamap: DatamapService,
    private readonly requests: Requests,
    private readonly temporal: TemporalClient,
  ) {}

  @Post('tenants/:tenantId/restores')
  @HttpCode(202)
  @Allow('operator')
  @ApiBody({
    schema: openApiSchema(RestoreBody),
    examples: {
      toTime: { summary: 'into a staging schema, as of a time', value: { target: { time: '2025-01-01T11:59:00Z' }, mode: 'staging' } },
      toLsn: { summary: 'in place, up to an LSN', value: { target: { lsn: '0/16B3748' }, mode: 'in-place' } },
    },
  })
  @ApiAcceptedResponse({ description: 'the restore request, queued', schema: openApiSchema(RequestViewSchema, 'output') })
  async restore(@Param('tenantId') rawTenantId: string, @Body(new ZodPipe(RestoreBody)) body: RestoreBody, @Req() req: AuthenticatedRequest): Promise<RequestView> {
    const map = await this.datamap.load();
    const tenantId = parseTenantId(map, rawTenantId);
    await requireTenant(this.app.pool, map, tenantId);
    await preflightRestore(this.app.pool, this.catalog.pool, tenantId, body.target);
    await preflightReplayRange(this.catalog.pool, restoredTables(map), tenantId, body.target);
    const id = randomUUID();
    const { request, created } = await this.requests.create({
      id, kind: 'restore', tenantId, workflowId: workflowIds.restore(tenantId, id), params: body, requestedBy: req.principal!.subject,
      bodySha256: createHash('sha256').update(JSON.stringify({ tenantId, body })).digest('hex'),
    }, req.ip, { onePerTenant: true });
    if (created || request.status === 'queued') {
      const input: RestoreWorkflowInput = { requestId: request.id, tenantId, target: body.target, mode: body.mode };
      await this.start('restoreWorkflow', workflowIds.restore(tenantId, request.id), input);
    }
    return request;
  }

  @Post('tenants/:tenantId/snapshots')
  @HttpCode(202)
  @Allow('operator')
  @ApiBody({ required: false, description: 'nothing to say: an empty object, or no body', schema: { ...openApiSchema(z.strictObject({})), example: {} } })
  @ApiAcceptedResponse({ description: 'the snapshot request, queued', schema: openApiSchema(RequestViewSchema, 'output') })
  async snapshot(@Param('tenantId') rawTenantId: string, @Body(new ZodPipe(SnapshotBody)) _body: unknown, @Req() req: AuthenticatedRequest): Promise<RequestView> {
    const map = await this.datamap.load();
    const tenantId = parseTenantId(map, rawTenantId);
    await requireTenant(this.app.pool, map, tenantId);
    const id = randomUUID();
    const { request, created } = await this.requests.create({
      id, kind: 'snapshot', tenantId, workflowId: workflowIds.snapshot(tenantId, id), params: {}, requestedBy: req.principal!.subject,
      bodySha256: createHash('sha256').update(JSON.stringify({ tenantId })).digest('hex'),
    }, req.ip, { onePerTenant: true });
    if (created || request.status === 'queued') {
      const input: SnapshotWorkflowInput = { requestId: request.id, tenantId };
      await this.start('snapshotWorkflow', workflowIds.snapshot(tenantId, request.id), input);
    }
    return request;
  }

  @Get('tenants/:tenantId/snapshots')
  @Allow('operator')
  @ApiOkResponse({ description: "the tenant's restore points (snapshots), newest first, and how far the WAL archive reaches", schema: openApiSchema(RestorePointsSchema, 'output') })
  async snapshots(@Param('tenantId') rawTenantId: string): Promise<RestorePoints> {
    const map = await this.datamap.load();
    const tenantId = parseTenantId(map, rawTenantId);
    await requireTenant(this.app.pool, map, tenantId);
    return listRestorePoints(this.catalog.pool, tenantId, archiveNamesFor(this.config.DATABASE_URL).slot, this.config.PITR_WINDOW);
  }

  private async start(workflow: string, workflowId: string, input: unknown): Promise<void> {
    try {
      await this.temporal.workflow.start(workflow, { workflowId, taskQueue: this.config.TEMPORAL_TASK_QUEUE, args: [input] });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}
