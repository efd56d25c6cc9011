import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { countActivityFailures } from '../../src/metrics/activity-failures.interceptor';
import { processRegistry } from '../../src/metrics/registry';
import { workerMetrics } from '../../src/metrics/worker-metrics';

const failures = async (activityType: string, reason: string) => {
  const metric = await processRegistry().getSingleMetric('compliance_ops_activity_failures_total')!.get();
  return metric.values.find((v) => v.labels.activity_type === activityType && v.labels.reason === reason)?.value ?? 0;
};

describe('the activity failure interceptor', () => {
  const execute = (activityType: string, outcome: () => Promise<unknown>) => {
    const inbound = countActivityFailures(workerMetrics())({ info: { activityType } } as Context).inbound!;
    return inbound.execute!({} as ActivityExecuteInput, outcome);
  };

  it('counts failed attempts by activity type and reason, and passes results and errors through', async () => {
    await expect(execute('purge', async () => 'ok')).resolves.toBe('ok');
    await expect(execute('purge', async () => { throw new Error('connection reset'); })).rejects.toThrow('connection reset');
    await expect(execute('purge', async () => { throw ApplicationFailure.nonRetryable('legal hold', 'legal_hold'); })).rejects.toThrow('legal hold');
    await expect(execute('runExport', async () => { throw new CancelledFailure('cancelled'); })).rejects.toThrow(CancelledFailure);

    expect(await failures('purge', 'failed')).toBe(1);
    expect(await failures('purge', 'non_retryable')).toBe(1);
    expect(await failures('runExport', 'cancelled')).toBe(1);
    expect(await failures('runExport', 'failed')).toBe(0);
  });
});
