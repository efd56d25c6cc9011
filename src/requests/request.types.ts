/** A request: one export, erasure, restore or retention run, and the workflow carrying it out. */
export const REQUEST_KINDS = ['export', 'erasure', 'restore', 'retention', 'snapshot'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const REQUEST_STATUSES = [
  'queued', 'running', 'waiting_grace', 'blocked_legal_hold', 'succeeded', 'failed', 'cancelled',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<RequestStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export interface RequestView {
  id: string;
  kind: RequestKind;
  tenantId: string | null;
  status: RequestStatus;
  progress: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  receiptId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewRequest {
  id: string;
  kind: RequestKind;
  tenantId: string | null;
  params: Record<string, unknown>;
  workflowId: string;
  requestedBy: string;
  idempotencyKey?: string;
  bodySha256?: string;
}
