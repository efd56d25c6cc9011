import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, stackPorts } from '../../src/config';

describe('configuration', () => {
  it('reports every missing or invalid variable at once, by name', () => {
    let error: unknown;
    try {
      loadConfig({ COMPLIANCE_OPS_HOME: '/nonexistent', DATABASE_URL: 'not a url', JWT_SECRET: 'short' } as NodeJS.ProcessEnv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['DATABASE_URL', 'CATALOG_DATABASE_URL', 'TEMPORAL_ADDRESS', 'S3_EXPORT_BUCKET', 'KMS_EXPORT_KEY_ARN', 'JWT_SECRET']) {
      expect(message).toContain(name);
    }
    expect(message).toContain('at least 32 characters');
  });

  it('rejects a port that is not a port', () => {
    expect(() => stackPorts({ COMPLIANCE_OPS_PG_PORT: '70000' })).toThrow(/COMPLIANCE_OPS_PG_PORT/);
    expect(stackPorts({}).COMPLIANCE_OPS_PG_PORT).toBe(55432);
  });
});
