import { StackPorts, stackPorts } from '../config';

/** Superuser and service role of the local stack's Postgres. */
export const LOCAL_PG_SUPERUSER = 'postgres';
export const LOCAL_PG_SERVICE_ROLE = 'compliance_ops';
export const DEMO_DATABASE = 'demo';
export const CATALOG_DATABASE = 'compliance_ops';

export function localEndpoints(ports: StackPorts = stackPorts()) {
  const pg = `127.0.0.1:${ports.COMPLIANCE_OPS_PG_PORT}`;
  return {
    /** superuser: stack setup, seeding and test databases only */
    adminUrl: `postgres://${LOCAL_PG_SUPERUSER}@${pg}/postgres`,
    demoAdminUrl: `postgres://${LOCAL_PG_SUPERUSER}@${pg}/${DEMO_DATABASE}`,
    /** the service's own role: subject to the application's RLS policies */
    demoUrl: `postgres://${LOCAL_PG_SERVICE_ROLE}@${pg}/${DEMO_DATABASE}`,
    catalogUrl: `postgres://${LOCAL_PG_SERVICE_ROLE}@${pg}/${CATALOG_DATABASE}`,
    temporalAddress: `127.0.0.1:${ports.COMPLIANCE_OPS_TEMPORAL_PORT}`,
    temporalUi: `http://127.0.0.1:${ports.COMPLIANCE_OPS_TEMPORAL_UI_PORT}`,
    s3Endpoint: `http://127.0.0.1:${ports.COMPLIANCE_OPS_S3_PORT}`,
    s3Console: `http://127.0.0.1:${ports.COMPLIANCE_OPS_S3_CONSOLE_PORT}`,
    kmsEndpoint: `http://127.0.0.1:${ports.COMPLIANCE_OPS_KMS_PORT}`,
    apiUrl: `http://127.0.0.1:${ports.PORT}`,
  };
}

export type LocalEndpoints = ReturnType<typeof localEndpoints>;
