import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress';
import type { RequestView } from '../../src/requests/request.types';

const request = (patch: Partial<RequestView>): RequestView => ({
  id: 'r', kind: 'export', tenantId: 't', status: 'running', progress: null, result: null, error: null,
  receiptId: null, createdAt: '', updatedAt: '', ...patch,
});

describe('the CLI progress line', () => {
  it('draws a bar when the request knows its percentage', () => {
    expect(progressLine(request({ progress: { percent: 50, table: 'users', rows: 1200 } })))
      .toBe('[###############---------------]  50%  running  users: 1,200 rows');
  });

  it('shows the moving counters when there is no estimate', () => {
    expect(progressLine(request({ progress: { table: 'comments', rows: 10 } }))).toBe('running  comments: 10 rows');
    expect(progressLine(request({ status: 'queued' }))).toBe('queued');
  });

  it('is full when the request succeeded', () => {
    expect(progressLine(request({ status: 'succeeded' }))).toMatch(/^\[#{30}\] 100%  succeeded$/);
  });
});
