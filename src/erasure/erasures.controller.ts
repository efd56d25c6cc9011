import { randomUUID } from 'node:crypto';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Client as TemporalClient } from '@temporalio/client';
import { z } from 'zod';
import { Config } from '../config';
import { DatamapService } from '../datamap/datamap.service';
import { AppDatabase, CatalogDatabase } from '../db/databases';
import { sqlState, SQLSTATE } from '../db/sqlstate';
import { badInput, conflict, notFound } from '../errors';
import { Allow } from '../http/access';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { LegalHoldSchema } from '../http/dto/legal-hold.dto';
import { parseIdempotencyKey, requestBodyDigest } from '../http/idempotency';
import { openApiSchema, ZodPipe } from '../http/zod-body';
import { RequestViewSchema } from '../requests/request.dto';
import { LegalHoldsRepository } from '../legal-holds/legal-holds.repository';
import { hashSubject } from '../receipts/subject-hash';
import { Requests } from '../requests/requests.controller';
import { RequestView } from '../requests/request.types';
import { parseTenantId, requireTenant } from '../tenants/tenants';
import { cancelErasureSignal, ErasureWorkflowInput, legalHoldLiftedSignal, workflowIds } from '../../workflows/messages';

const MAX_GRACE_SECONDS = 90 * 24 * 3600;

const ErasureBody = z.strictObject({
  subject: z.strictObject({ column: z.string().min(1).max(63), value: z.string().min(1).max(512) }).optional(),
  graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0),
  reason: z.string().trim().min(3).max(500),
});
type ErasureBody = z.infer<typeof ErasureBody>;

const LegalHoldBody = z.strictObject({ reason: z.string().trim().min(3).max(500) });

const CANCELLABLE = new Set(['queued', 'waiting_grace', 'blocked_legal_hold']);

@ApiTags('erasure')
@Controller('v1')
export class ErasuresController {
  private readonly holds: LegalHoldsRepository;

  constructor(
    private readonly config: Config,
    private readonly app: AppDatabase,
    catalog: CatalogDatabase,
    private readonly datamap: DatamapService,
    private readonly requests: Requests,
    private readonly temporal: TemporalClient,
  ) {
    this.holds = new LegalHoldsRepository(catalog.pool);
  }

  /** The tenant id from the path, checked for format and existence. */
  private async tenant(raw: string): Promise<string> {
    const map = await this.datamap.load();
    const tenantId = parseTenantId(map, raw);
    await requireTenant(this.app.pool, map, tenantId);
    return tenantId;
  }

  @Post('tenants/:tenantId/erasures')
  @HttpCode(202)
  @Allow('operator', 'tenant-admin')
  @ApiBody({
    schema: openApiSchema(ErasureBody),
    examples: {
      subject: { summary: 'one data subject, after a day of grace', value: { subject: { column: 'email', value: 'ada@example.com' }, graceSeconds: 86400, reason: 'GDPR Art. 17 request #4711' } },
      tenant: { summary: 'the whole tenant (off-boarding), at once', value: { graceSeconds: 0, reason: 'contract ended; off-boarding' } },
    },
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'same key and body → the first request; another body → 409' })
  @ApiAcceptedResponse({
    description: 'the erasure request; a second request for the same scope answers with the first',
    schema: openApiSchema(RequestViewSchema, 'output'),
  })
  async create(
    @Param('tenantId') raw: string,
    @Body(new ZodPipe(ErasureBody)) body: ErasureBody,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: AuthenticatedRequest,
  ): Promise<RequestView> {
    parseIdempotencyKey(idempotencyKey);
    const map = await this.datamap.load();
    const tenantId = await this.tenant(raw);
    if (body.subject && !(map.subject?.identityColumns ?? []).includes(body.subject.column)) {
      throw badInput('unknown_subject_column', `subjects are identified by ${map.subject?.identityColumns.join(', ') ?? 'nothing (no subject table)'}`);
    }
    const subjectHash = body.subject ? hashSubject(this.config.SUBJECT_HASH_SECRET, tenantId, body.subject.value) : null;
    const live = await this.requests.findLiveErasure(tenantId, subjectHash);
    if (live) return live;

    const id = randomUUID();
    const workflowId = workflowIds.erasure(tenantId, id);
    const principal = req.principal!;
    let request: RequestView;
    let created: boolean;
    try {
      ({ request, created } = await this.requests.create({
        id, kind: 'erasure', tenantId, workflowId, requestedBy: principal.subject,
        // The subject appears as its column and keyed hash, never its value.
        params: { subjectColumn: body.subject?.column ?? null, subjectHash, graceSeconds: body.graceSeconds, reason: body.reason },
        idempotencyKey,
        bodySha256: requestBodyDigest(this.config.SUBJECT_HASH_SECRET, tenantId, body),
      }, req.ip));
    } catch (error) {
      // Two identical requests raced: the unique index let one through.
      const winner = sqlState(error) === SQLSTATE.uniqueViolation ? await this.requests.findLiveErasure(tenantId, subjectHash) : undefined;
      if (winner) return winner;
      throw error;
    }
    // A replayed Idempotency-Key answers with the caller's first request, whatever became of it.
    if (!created) return request;
    const input: ErasureWorkflowInput = {
      requestId: id, tenantId, subject: body.subject, graceSeconds: body.graceSeconds, reason: body.reason,
      requestedBy: { role: principal.role, subject: principal.subject }, requestedAt: request.createdAt,
    };
    await this.temporal.workflow.start('erasureWorkflow', { workflowId, taskQueue: this.config.TEMPORAL_TASK_QUEUE, args: [input] });
    return request;
  }

  @Post('erasures/:id/cancel')
  @ApiAcceptedResponse({ description: 'cancel sent to the waiting erasure; poll the request for `cancelled`', schema: openApiSchema(RequestViewSchema, 'output') })
  @HttpCode(202)
  @Allow('operator', 'tenant-admin')
  async cancel(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<RequestView> {
    if (!z.uuid().safeParse(id).success) throw badInput('invalid_request_id', 'an erasure id is a UUID');
    const request = await this.requests.get(id);
    if (!request || request.kind !== 'erasure' ||
      (req.principal?.role === 'tenant-admin' && request.tenantId !== req.principal.tenantId)) {
      throw notFound('erasure_not_found', `no erasure ${id}`);
    }
    if (!CANCELLABLE.has(request.status)) {
      throw conflict('not_cancellable', `the erasure is ${request.status}: it can only be cancelled while it waits`);
    }
    await this.temporal.workflow.getHandle(workflowIds.erasure(request.tenantId!, id)).signal(cancelErasureSignal);
    return request;
  }

  @Get('tenants/:tenantId/legal-hold')
  @ApiOkResponse({ description: 'the legal hold on this tenant', schema: openApiSchema(LegalHoldSchema, 'output') })
  async getHold(@Param('tenantId') raw: string) {
    const hold = await this.holds.get(await this.tenant(raw));
    if (!hold) throw notFound('no_legal_hold', 'this tenant has no legal hold');
    return hold;
  }

  @Put('tenants/:tenantId/legal-hold')
  @ApiOkResponse({ description: 'the hold, placed or with its reason updated', schema: openApiSchema(LegalHoldSchema, 'output') })
  @ApiBody({ schema: openApiSchema(LegalHoldBody), examples: { hold: { value: { reason: 'litigation hold: case 2025-CV-1142' } } } })
  async placeHold(@Param('tenantId') raw: string, @Body(new ZodPipe(LegalHoldBody)) body: z.infer<typeof LegalHoldBody>, @Req() req: AuthenticatedRequest) {
    return this.holds.place(await this.tenant(raw), body.reason, req.principal!.subject);
  }

  /** Lifting a hold wakes the erasures it blocked (they would also notice on their next check). */
  @Delete('tenants/:tenantId/legal-hold')
  @ApiNoContentResponse({ description: 'lifted; blocked erasures resume' })
  @HttpCode(204)
  async liftHold(@Param('tenantId') raw: string, @Req() req: AuthenticatedRequest): Promise<void> {
    const tenantId = await this.tenant(raw);
    if (!(await this.holds.lift(tenantId, req.principal!.subject))) throw notFound('no_legal_hold', 'this tenant has no legal hold');
    const blocked = await this.requests.list({ tenantId, kind: 'erasure', status: 'blocked_legal_hold', limit: 200 });
    await Promise.allSettled(blocked.map((r) =>
      this.temporal.workflow.getHandle(workflowIds.erasure(tenantId, r.id)).signal(legalHoldLiftedSignal)));
  }
}
