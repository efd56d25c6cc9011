import { describe, expect, it } from 'vitest';
import { ExportProgressTracker } from '../../src/export/export-progress';

const at = (table: string, rows: number) => ({ table, rows, bytes: 0, chunk: 0 });

describe('ExportProgressTracker', () => {
  it('counts files kept from an earlier attempt as done from the start', () => {
    const progress = new ExportProgressTracker(false);
    progress.done('tables/a.csv', 600);
    progress.expect('tables/b.csv', 400);
    expect(progress.update(at('tables/b.csv', 0))).toMatchObject({ percent: 60 });
    expect(progress.update(at('tables/b.csv', 200))).toMatchObject({ percent: 80 });
    expect(progress.update(at('tables/b.csv', 200))).not.toHaveProperty('restarted');
  });

  it('stays below 100 and never goes backwards when an estimate was too low', () => {
    const progress = new ExportProgressTracker(false);
    progress.expect('tables/a.csv', 100);
    progress.expect('tables/b.csv', 100);
    const percents = [at('tables/a.csv', 100), at('tables/b.csv', 150), at('tables/b.csv', 400)].map((p) => progress.update(p).percent!);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(Math.max(...percents)).toBeLessThanOrEqual(99);
  });

  it('says when the attempt started over', () => {
    const progress = new ExportProgressTracker(true);
    progress.expect('tables/a.csv', 10);
    expect(progress.update(at('tables/a.csv', 5))).toMatchObject({ percent: 50, restarted: true });
  });
});
