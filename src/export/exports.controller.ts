import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Client as TemporalClient, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { Config } from '../config';
import { DatamapService } from '../datamap/datamap.service';
import { AppDatabase } from '../db/databases';
import { badInput, conflict, notFound } from '../errors';
import { Allow } from '../http/access';
import type { AuthenticatedRequest } from '../http/auth.guard';
import { ExportDownloadSchema } from '../http/dto/export.dto';
import { parseIdempotencyKey, requestBodyDigest } from '../http/idempotency';
import { openApiSchema, ZodPipe } from '../http/zod-body';
import { RequestViewSchema } from '../requests/request.dto';
import { Requests } from '../requests/requests.controller';
import { RequestView } from '../requests/request.types';
import { parseTenantId, requireTenant } from '../tenants/tenants';
import { ExportWorkflowInput, workflowIds } from '../../workflows/messages';
import { presignExport } from './download';

const ExportBody = z.strictObject({
  subject: z.strictObject({ column: z.string().min(1).max(63), value: z.string().min(1).max(512) }).optional(),
  format: z.enum(['csv', 'jsonl']).default('csv'),
  tables: z.array(z.string().min(1).max(63)).min(1).max(200).optional(),
});
type ExportBody = z.infer<typeof ExportBody>;


@ApiTags('exports')
@Controller('v1')
export class ExportsController {
  constructor(
    private readonly config: Config,
    private readonly app: AppDatabase,
    private readonly datamap: DatamapService,
    private readonly requests: Requests,
    private readonly temporal: TemporalClient,
    private readonly s3: S3Client,
  ) {}

  @Post('tenants/:tenantId/exports')
  @HttpCode(202)
  @Allow('operator', 'tenant-admin')
  @ApiBody({
    schema: openApiSchema(ExportBody),
    examples: {
      tenant: { summary: 'the whole tenant, as CSV', value: { format: 'csv' } },
      subject: { summary: 'one data subject, as JSON lines', value: { subject: { column: 'email', value: 'ada@example.com' }, format: 'jsonl' } },
      tables: { summary: 'some tables only', value: { format: 'csv', tables: ['users', 'invoices'] } },
    },
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'same key and body → the first request' })
  @ApiAcceptedResponse({
    description: 'the export request, queued; the same body while one runs for the tenant answers with that one',
    schema: openApiSchema(RequestViewSchema, 'output'),
  })
  async create(
    @Param('tenantId') rawTenantId: string,
    @Body(new ZodPipe(ExportBody)) body: ExportBody,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: AuthenticatedRequest,
  ): Promise<RequestView> {
    parseIdempotencyKey(idempotencyKey);
    const map = await this.datamap.load();
    const tenantId = parseTenantId(map, rawTenantId);
    const exportable = new Set(map.tables.filter((t) => t.kind !== 'global').map((t) => t.name));
    const unknown = (body.tables ?? []).filter((t) => !exportable.has(t));
    if (unknown.length > 0) throw badInput('unknown_table', `not a tenant table of the data map: ${unknown.join(', ')}`);
    if (body.subject && !(map.subject?.identityColumns ?? []).includes(body.subject.column)) {
      throw badInput('unknown_subject_column', `subjects are identified by ${map.subject?.identityColumns.join(', ') ?? 'nothing (no subject table in the data map)'}`);
    }
    await requireTenant(this.app.pool, map, tenantId);

    const id = randomUUID();
    const { request, created } = await this.requests.create({
      id, kind: 'export', tenantId, workflowId: workflowIds.export(tenantId, id),
      params: { format: body.format, tables: body.tables ?? null, subject: body.subject ? { column: body.subject.column } : null },
      requestedBy: req.principal!.subject,
      idempotencyKey,
      bodySha256: requestBodyDigest(this.config.SUBJECT_HASH_SECRET, tenantId, body),
    }, req.ip, { onePerTenant: true });
    // Also for a replayed key or a joined export that is still queued: if the API stopped before starting its
    // workflow, this starts it; otherwise Temporal answers "already started" and nothing changes.
    if (created || request.status === 'queued') {
      const input: ExportWorkflowInput = { requestId: request.id, tenantId, format: body.format, subject: body.subject, tables: body.tables };
      const workflowId = workflowIds.export(tenantId, request.id);
      try {
        await this.temporal.workflow.start('exportWorkflow', { workflowId, taskQueue: this.config.TEMPORAL_TASK_QUEUE, args: [input] });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
    }
    return request;
  }

  @Get('exports/:id/download')
  @Allow('operator', 'tenant-admin')
  @ApiOkResponse({ description: 'short-lived presigned URLs of the export objects', schema: openApiSchema(ExportDownloadSchema, 'output') })
  async download(@Param('id') id: string, @Req() req: AuthenticatedRequest) {
    if (!z.uuid().safeParse(id).success) throw badInput('invalid_request_id', 'an export id is a UUID');
    const request = await this.requests.get(id);
    if (!request || request.kind !== 'export' ||
      (req.principal?.role === 'tenant-admin' && request.tenantId !== req.principal.tenantId)) {
      throw notFound('export_not_found', `no export ${id}`);
    }
    if (request.status !== 'succeeded') throw conflict('export_not_ready', `the export is ${request.status}`);
    return presignExport(this.s3, this.config, request);
  }
}
