import { describe, expect, it } from 'vitest';
import { DataMap } from '../../src/datamap/datamap.types';
import type { PurgeResult } from '../../src/erasure/erasure.activities';
import type { Verification } from '../../src/erasure/verify';
import { parseReceiptContent } from '../../src/receipts/validate-content';
import { retentionReceiptContent } from '../../src/retention/retention-receipt';

const TENANT = '6f1c0b1e-2d3a-4b5c-8d7e-9f0a1b2c3d4e';
const audit = { schema: 'public', name: 'audit_events' };
const map = {
  tables: [
    { schema: 'public', name: 'plans', kind: 'global', erasure: null },
    { schema: 'public', name: 'audit_events', kind: 'tenant', erasure: { action: 'delete' } },
  ],
} as unknown as DataMap;

const facts = {
  requestId: '0b7e5a52-3f3c-5d55-9a55-8a7f2b1c0d9e', kind: 'retention' as const, tenantId: TENANT, retentionPolicy: 'audit-events',
  reason: 'retention policy audit-events: rows of public.audit_events with occurred_at before 2025-11-25T03:00:00.000Z (older than 365 days)',
  requestedBy: { role: 'scheduler', subject: 'compliance-ops:retention-scheduler' },
  requestedAt: '2026-11-25T03:00:00.000Z', startedAt: '2026-11-25T03:00:01.000Z', completedAt: '2026-11-25T03:00:02.000Z',
  workflowId: 'retention:audit-events:2026-11-25T03:00:00.000Z:tenant:x', legalHolds: [], exportsShredded: 0,
};

function purged(action: 'delete' | 'anonymize', retainedRows = 0): PurgeResult {
  return {
    requestId: facts.requestId, tenantId: TENANT, countedAt: facts.startedAt, batches: 2, seconds: 0.4,
    tables: [{ table: audit, action, rows: 120, retainedRows, keptRows: 0, affectedRows: 120 }],
  };
}
const verified: Verification = { verified: true, verifiedAt: facts.completedAt, tables: [{ table: audit, action: 'delete', remainingRows: 0, retainedRows: 0, keptRows: 0 }] };

describe('retention receipts', () => {
  it('state the policy and counts and claim no shredded export or tombstone, and pass the receipt schema', () => {
    const content = parseReceiptContent(retentionReceiptContent(facts, map, purged('delete'), verified, { action: 'delete' }));
    expect(content).toMatchObject({
      kind: 'retention', tenantId: TENANT, scope: { type: 'tenant' }, policy: { retentionPolicy: 'audit-events' },
      tables: [{ table: 'public.audit_events', method: 'delete', rows: 120 }], verification: { result: 'passed' },
    });
    expect(content.policy.legalBasis).toBeUndefined();
    expect(content.remains.find((r) => r.what === 'exports')).toMatchObject({ status: 'retained' });
    expect(JSON.stringify(content.remains)).not.toMatch(/tombstone/);
  });

  it('name the policy’s own anonymize strategies, and rows kept because others reference them', () => {
    const content = retentionReceiptContent(facts, map, purged('anonymize', 3), verified, { action: 'anonymize', columns: { payload: 'redact' } });
    expect(content.tables[0]).toEqual({ table: 'public.audit_events', method: 'anonymize', rows: 120, columns: [{ column: 'payload', strategy: 'redact' }] });
    expect(content.notCovered).toContainEqual({ table: 'public.audit_events', reason: '3 row(s) past the cutoff kept because other rows still reference them' });
    expect(content.notCovered.filter((n) => n.table === 'public.audit_events')).toHaveLength(1);
  });
});
