import { createHash, randomUUID } from 'node:crypto';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
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
import { PromoteWorkflowInput, RestoreWorkflowInput, SnapshotWorkflowInput, workflowIds } from '../../workflows/messages';
import { badInput, conflict, notFound } from '../errors';
import { dropStagingRestore } from './staging-lifecycle';
import { StagingListSchema, StagingRegistry, StagingView, StagingViewSchema } from './staging-registry';
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

/** Snapshots and promotes take nothing: an empty object, or no body. */
const EmptyBody = z.strictObject({}).optional();

const RESTORE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

  @Get('tenants/:tenantId/restores')
  @Allow('operator')
  @ApiOkResponse({ description: "the tenant's restore staging schemas, newest first (the last 100): staged ones wait to be promoted or dropped", schema: openApiSchema(StagingListSchema, 'output') })
  async stagings(@Param('tenantId') rawTenantId: string): Promise<StagingView[]> {
    const tenantId = await this.tenant(rawTenantId);
    return new StagingRegistry(this.catalog.pool).list(tenantId);
  }

  /**
   * Swaps a staging restore in, after inspection. Checked here so a wrong id
   * or state answers at once (404, 409), and again by the workflow.
   */
  @Post('tenants/:tenantId/restores/:restoreId/promote')
  @HttpCode(202)
  @Allow('operator')
  @ApiBody({ required: false, description: 'nothing to say: an empty object, or no body', schema: { ...openApiSchema(z.strictObject({})), example: {} } })
  @ApiAcceptedResponse({ description: 'the promote request, queued (a request of kind `restore`); its result names the rows swapped in', schema: openApiSchema(RequestViewSchema, 'output') })
  async promote(
    @Param('tenantId') rawTenantId: string, @Param('restoreId') restoreId: string, @Body(new ZodPipe(EmptyBody)) _body: unknown, @Req() req: AuthenticatedRequest,
  ): Promise<RequestView> {
    const tenantId = await this.tenant(rawTenantId);
    const staging = await this.staging(tenantId, restoreId);
    if (staging.state !== 'staged') {
      throw conflict(staging.state === 'loading' ? 'restore_not_staged' : `restore_${staging.state}`,
        staging.state === 'loading'
          ? `Restore ${restoreId} has not staged (it is still running, or it failed); only a finished staging restore can be promoted.`
          : `Restore ${restoreId} was already ${staging.state}; its staging schema is gone.`);
    }
    const id = randomUUID();
    const { request, created } = await this.requests.create({
      id, kind: 'restore', tenantId, workflowId: workflowIds.restore(tenantId, id), params: { promote: staging.restoreId }, requestedBy: req.principal!.subject,
      bodySha256: createHash('sha256').update(JSON.stringify({ tenantId, promote: staging.restoreId })).digest('hex'),
    }, req.ip, { onePerTenant: true });
    if (created || request.status === 'queued') {
      const input: PromoteWorkflowInput = { requestId: request.id, tenantId, restoreId: staging.restoreId, requestedBy: req.principal!.subject };
      await this.start('promoteRestoreWorkflow', workflowIds.restore(tenantId, request.id), input);
    }
    return request;
  }

  @Delete('tenants/:tenantId/restores/:restoreId')
  @Allow('operator')
  @ApiOkResponse({ description: 'the staging schema dropped (or already gone: promoted or dropped before); 409 `restore_running` while its restore runs', schema: openApiSchema(StagingViewSchema, 'output') })
  async drop(@Param('tenantId') rawTenantId: string, @Param('restoreId') restoreId: string, @Req() req: AuthenticatedRequest): Promise<StagingView> {
    const tenantId = await this.tenant(rawTenantId);
    const staging = await this.staging(tenantId, restoreId);
    return dropStagingRestore({ appPool: this.app.pool, catalogPool: this.catalog.pool }, { tenantId, restoreId: staging.restoreId, by: req.principal!.subject });
  }

  @Post('tenants/:tenantId/snapshots')
  @HttpCode(202)
  @Allow('operator')
  @ApiBody({ required: false, description: 'nothing to say: an empty object, or no body', schema: { ...openApiSchema(z.strictObject({})), example: {} } })
  @ApiAcceptedResponse({ description: 'the snapshot request, queued', schema: openApiSchema(RequestViewSchema, 'output') })
  async snapshot(@Param('tenantId') rawTenantId: string, @Body(new ZodPipe(EmptyBody)) _body: unknown, @Req() req: AuthenticatedRequest): Promise<RequestView> {
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

  private async tenant(rawTenantId: string): Promise<string> {
    const map = await this.datamap.load();
    const tenantId = parseTenantId(map, rawTenantId);
    await requireTenant(this.app.pool, map, tenantId);
    return tenantId;
  }

  private async staging(tenantId: string, restoreId: string): Promise<StagingView> {
    if (!RESTORE_ID.test(restoreId)) throw badInput('invalid_restore_id', 'a restore id is the UUID of the restore request');
    const staging = await new StagingRegistry(this.catalog.pool).find(tenantId, restoreId.toLowerCase());
    if (!staging) throw notFound('restore_not_found', `tenant ${tenantId} has no restore ${restoreId}`);
    return staging;
  }

  private async start(workflow: string, workflowId: string, input: unknown): Promise<void> {
    try {
      await this.temporal.workflow.start(workflow, { workflowId, taskQueue: this.config.TEMPORAL_TASK_QUEUE, args: [input] });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}
