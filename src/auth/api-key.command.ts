import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { ApiKeysRepository } from './api-keys';
import { ROLES, Role } from './principal';

async function withKeys<T>(fn: (keys: ApiKeysRepository) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Works on a fresh catalog too, as `compliance-ops api` does.
  await migrate(config.CATALOG_DATABASE_URL);
  const pool = createPool(config.CATALOG_DATABASE_URL, 1);
  try {
    return await fn(new ApiKeysRepository(pool));
  } finally {
    await pool.end();
  }
}

/** `compliance-ops api-key create|list|revoke`: static keys for service-to-service calls. */
export function apiKeyCommand(): Command {
  const command = new Command('api-key').description('static API keys for service-to-service calls (stored hashed)');

  command.command('create')
    .description('create a key and print it once: the catalog keeps only its SHA-256')
    .addOption(new Option('--role <role>', 'operator, auditor or tenant-admin').choices([...ROLES]).makeOptionMandatory())
    .option('--tenant <id>', 'the tenant a tenant-admin key may act on')
    .option('--name <name>', 'what the key is for, e.g. the calling service', 'unnamed')
    .action(async (options: { role: Role; tenant?: string; name: string }) => {
      const { key, view } = await withKeys((keys) =>
        keys.create({ name: options.name, role: options.role, tenantId: options.tenant, createdBy: `cli:${userInfo().username}` }));
      process.stderr.write(`api key ${view.id} (${view.role}${view.tenantId ? ` of ${view.tenantId}` : ''}); ` +
        'shown once, keep it in a secret store; send it as `Authorization: Bearer <key>`\n');
      process.stdout.write(`${key}\n`);
    });

  command.command('list')
    .description('list keys (prefix, role, tenant, revoked), never the keys themselves')
    .action(async () => {
      for (const key of await withKeys((keys) => keys.list())) {
        process.stdout.write(`${key.id}  ${key.prefix}…  ${key.role.padEnd(12)} ${(key.tenantId ?? '-').padEnd(36)} ` +
          `${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'}  ${key.name}\n`);
      }
    });

  command.command('revoke <id>')
    .description('revoke a key at once')
    .action(async (id: string) => {
      if (!z.uuid().safeParse(id).success) throw new Error('a key id is a UUID (see `api-key list`)');
      const revoked = await withKeys((keys) => keys.revoke(id));
      process.stderr.write(revoked ? `revoked ${id}\n` : `no active key ${id}\n`);
      if (!revoked) process.exitCode = 1;
    });

  return command;
}
