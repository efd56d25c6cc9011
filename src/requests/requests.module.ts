import { Module } from '@nestjs/common';
import { RequestCancellation } from './request-cancellation';
import { RequestsController } from './requests.controller';
import { Requests } from './requests.provider';

@Module({ controllers: [RequestsController], providers: [Requests, RequestCancellation], exports: [Requests] })
export class RequestsModule {}
