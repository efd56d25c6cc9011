import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';

/** The audit trail, read-only over the HTTP API; the catalog comes from the global InfrastructureModule. */
@Module({ controllers: [AuditController] })
export class AuditModule {}
