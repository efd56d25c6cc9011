/** Who is calling, as proven by the bearer token. */
export const ROLES = ['operator', 'auditor', 'tenant-admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** the token's `sub`: a person or a service, for the audit trail */
  subject: string;
  role: Role;
  /** only for tenant-admin: the one tenant it may act on */
  tenantId?: string;
}
