import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { localEndpoints } from '../../src/stack/endpoints';

export interface ScratchDatabase {
  name: string;
  /** superuser URL of the scratch database */
  adminUrl: string;
  /** the service role's URL (subject to RLS) */
  serviceUrl: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database on the local stack's Postgres, for one test file. */
export async function createScratchDatabase(prefix: string, template?: string, owner?: string): Promise<ScratchDatabase> {
  const endpoints = localEndpoints();
  const name = `t_${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new Client({ connectionString: endpoints.adminUrl });
  await admin.connect();
  try {
    const from = template ? ` TEMPLATE ${escapeIdentifier(template)}` : '';
    const ownedBy = owner ? ` OWNER ${escapeIdentifier(owner)}` : '';
    await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}${from}${ownedBy}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    adminUrl: withDatabase(endpoints.adminUrl, name),
    serviceUrl: withDatabase(endpoints.demoUrl, name),
    async drop() {
      const client = new Client({ connectionString: endpoints.adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
