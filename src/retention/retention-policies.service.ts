import { Injectable, OnModuleInit } from '@nestjs/common';
import { Config } from '../config';
import { DatamapService } from '../datamap/datamap.service';
import { notFound } from '../errors';
import { logger } from '../logger';
import { loadRetentionPolicies, retentionConfigPath } from './retention.config';
import { RetentionPolicy } from './retention.types';

/**
 * The policies of the config file, checked against the data map when the
 * application starts. An invalid file fails the start (app.init / listen
 * rejects with a RetentionConfigError naming each policy and field): a
 * scheduler that silently skipped a policy would leave data past its
 * retention with nobody told.
 */
@Injectable()
export class RetentionPolicies implements OnModuleInit {
  private policies: RetentionPolicy[] = [];

  constructor(
    private readonly config: Config,
    private readonly datamap: DatamapService,
  ) {}

  async onModuleInit(): Promise<void> {
    const file = retentionConfigPath(this.config);
    if (!file) return;
    this.policies = loadRetentionPolicies(file, await this.datamap.load());
    logger.info({ file, policies: this.policies.map((p) => p.name) }, 'retention policies loaded');
  }

  list(): RetentionPolicy[] {
    return this.policies;
  }

  get(name: string): RetentionPolicy {
    const policy = this.policies.find((p) => p.name === name);
    if (!policy) throw notFound('retention_policy_not_found', `no retention policy "${name}"; GET /v1/retention-policies lists them`);
    return policy;
  }
}
