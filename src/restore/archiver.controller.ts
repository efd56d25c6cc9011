import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Client as TemporalClient } from '@temporalio/client';
import { Config } from '../config';
import { AppDatabase, CatalogDatabase } from '../db/databases';
import { Allow } from '../http/access';
import { openApiSchema } from '../http/zod-body';
import { ArchiverStatus, ArchiverStatusSchema, readArchiverStatus } from './archiver-status';

const ARCHIVER_STATUS_EXAMPLE = {
  slot: 'compliance_ops_pitr_app', publication: 'compliance_ops_pitr', initialized: true, slotExists: true, publicationExists: true,
  ddlMarkersInstalled: true, walStatus: 'reserved', confirmedLsn: '0/3A1F2C8', archivedLsn: '0/3A1F2C8', currentLsn: '0/3A20010',
  lagBytes: 3400, retainedBytes: 16777216, safeWalBytes: 4278190080, maxSlotWalKeepSizeBytes: 4294967296,
  lastArchivedAt: '2025-01-01T12:00:00.000Z', lastSegmentAt: '2025-01-01T11:59:58.000Z', segments: 812, gaps: [], schemaChanges: [],
  workflow: { id: 'wal-archiver:compliance-ops:compliance_ops_pitr_app', status: 'RUNNING' }, warning: null,
};

/** The WAL archiver as an operator (or an auditor checking the archive is whole) sees it. */
@ApiTags('restores')
@Controller('v1/restore')
export class ArchiverController {
  constructor(
    private readonly config: Config,
    private readonly app: AppDatabase,
    private readonly catalog: CatalogDatabase,
    private readonly temporal: TemporalClient,
  ) {}

  @Get('archiver')
  @Allow('operator', 'auditor')
  @ApiOkResponse({ description: 'slot, confirmed LSN, lag, WAL safety margin, gaps and schema changes of the WAL archive, and its workflow', schema: { ...openApiSchema(ArchiverStatusSchema, 'output'), example: ARCHIVER_STATUS_EXAMPLE } })
  async status(): Promise<ArchiverStatus> {
    return readArchiverStatus({ config: this.config, appPool: this.app.pool, catalogPool: this.catalog.pool, temporal: this.temporal });
  }
}
