import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { Connection } from '@temporalio/client';
import type { Response } from 'express';
import { Config } from '../config';
import { AppDatabase, CatalogDatabase } from '../db/databases';
import { Public } from './access';
import { HealthSchema, ReadinessSchema } from './dto/health.dto';
import { openApiSchema } from './zod-body';

type Check = () => Promise<unknown>;

async function probe(check: Check, timeoutMs = 2000): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs))]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).name === 'Error' ? (error as Error).message : (error as Error).name };
  }
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly config: Config,
    private readonly app: AppDatabase,
    private readonly catalog: CatalogDatabase,
    private readonly temporal: Connection,
    private readonly s3: S3Client,
    private readonly kms: KMSClient,
  ) {}

  /** Liveness: the process answers. */
  @Public()
  @Get('healthz')
  @HttpCode(200)
  @ApiOkResponse({ schema: { ...openApiSchema(HealthSchema, 'output'), example: { status: 'ok' } } })
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers; 503 names the ones that do not. */
  @Public()
  @Get('readyz')
  @ApiOkResponse({ description: 'every dependency answers', schema: openApiSchema(ReadinessSchema, 'output') })
  @ApiServiceUnavailableResponse({ description: 'the checks name what does not answer', schema: openApiSchema(ReadinessSchema, 'output') })
  async readyz(@Res({ passthrough: true }) response: Response) {
    const checks = {
      postgres: await probe(() => this.app.pool.query('SELECT 1')),
      catalog: await probe(() => this.catalog.pool.query('SELECT 1')),
      temporal: await probe(() => this.temporal.healthService.check({})),
      s3: await probe(() => this.s3.send(new HeadBucketCommand({ Bucket: this.config.S3_EXPORT_BUCKET }))),
      kms: await probe(() => this.kms.send(new DescribeKeyCommand({ KeyId: this.config.KMS_EXPORT_KEY_ARN }))),
    };
    const ready = Object.values(checks).every((c) => c.ok);
    response.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', checks };
  }
}
