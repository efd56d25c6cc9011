import { Command, Option } from 'commander';
import { ROLES, Role } from '../auth/principal';
import { mintToken } from '../auth/tokens';
import { loadConfig } from '../config';

async function tokenFor(role: Role, tenantId?: string, ttlSeconds?: number): Promise<string> {
  const config = loadConfig();
  return mintToken(
    { secret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER },
    { role, tenantId },
    ttlSeconds,
  );
}

export function tokenCommand(): Command {
  return new Command('token')
    .description('print a bearer token for the local stack')
    .addOption(new Option('--role <role>', 'operator, auditor or tenant-admin').choices([...ROLES]).makeOptionMandatory())
    .option('--tenant <id>', 'the tenant a tenant-admin may act on')
    .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number.parseInt(v, 10), 12 * 3600)
    .action(async (options: { role: Role; tenant?: string; ttl: number }) => {
      process.stdout.write(`${await tokenFor(options.role, options.tenant, options.ttl)}\n`);
    });
}

/** What `npm start` prints once the API is up: a token and a first request to try. */
export async function printTokenExamples(apiUrl: string): Promise<void> {
  const token = await tokenFor('operator');
  process.stderr.write([
    '',
    'Try it:',
    `  TOKEN=$(npx compliance-ops token --role operator)`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${apiUrl}/v1/datamap | head`,
    `  open ${apiUrl}/docs   (operator token for the "Authorize" button below)`,
    `  ${token}`,
    '',
  ].join('\n'));
}
