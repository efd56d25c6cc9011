import { Module } from '@nestjs/common';
import { RequestCancellation } from './request-cancellation';
import { RequestMetrics } from './request.metrics';
import { RequestsController } from './requests.controller';
import { Requests } from './requests.provider';

@Module({ controllers: [RequestsController], providers: [Requests, RequestCancellation, RequestMetrics], exports: [Requests] })
export class RequestsModule {}
