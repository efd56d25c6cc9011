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

  it('names the stage when no table is moving: a restore replaying, an erasure verifying', () => {
    expect(progressLine(request({ kind: 'restore', progress: { stage: 'replay', percent: 55 } })))
      .toBe('[#################-------------]  55%  running  replay');
    expect(progressLine(request({ kind: 'erasure', progress: { stage: 'verifying' } }))).toBe('running  verifying');
    expect(progressLine(request({ status: 'succeeded', progress: { stage: 'swap', percent: 85 } }))).toMatch(/100%  succeeded$/);
  });

  it('is full when the request succeeded', () => {
    expect(progressLine(request({ status: 'succeeded' }))).toMatch(/^\[#{30}\] 100%  succeeded$/);
  });
});
