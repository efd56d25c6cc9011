import { Module } from '@nestjs/common';
import { Requests, RequestsController } from './requests.controller';

@Module({ controllers: [RequestsController], providers: [Requests], exports: [Requests] })
export class RequestsModule {}
