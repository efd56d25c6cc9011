import { INestApplication } from '@nestjs/common';
import { createApi } from '../../src/api';
import { Role } from '../../src/auth/principal';
import { mintToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';

export interface TestApi {
  url: string;
  app: INestApplication;
  token(role: Role, tenantId?: string): Promise<string>;
  close(): Promise<void>;
}

/** The real API on an ephemeral port, against the local stack. */
export async function startTestApi(): Promise<TestApi> {
  const config = loadConfig();
  // The API migrates at start (compliance-ops api); so does its test double.
  await migrate(config.CATALOG_DATABASE_URL);
  const app = await createApi();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    url,
    app,
    token: (role, tenantId) =>
      mintToken({ secret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER }, { role, tenantId }),
    close: () => app.close(),
  };
}
