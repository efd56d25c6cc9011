/**
 * Which of a tenant's indexed segments compaction may merge, read from the
 * catalog alone (sql/queries/restore/compaction-candidates.sql): runs of
 * consecutive settled segments, each run within one slot, across no recorded
 * gap, and within the size and time limits. Relation shapes are only known
 * once the objects are read: segment-merge.ts cuts the runs again there.
 */

/** One indexed segment, as the candidates query returns it, in LSN order. */
export interface IndexedSegment {
  id: string;
  slotName: string;
  bucket: string;
  objectKey: string;
  firstLsn: string;
  lastLsn: string;
  /** commit times, µs since the Unix epoch */
  firstCommitMicros: bigint;
  lastCommitMicros: bigint;
  transactionCount: number;
  changeCount: number;
  /** indexed longer ago than the settle age: the live archiver is done with it */
  settled: boolean;
  /** a recorded archive gap lies between this segment and the one before it */
  gapBefore: boolean;
}

export interface RunLimits {
  /** changes per merged segment (the catalog's change_count, summed) */
  maxChanges: number;
  /**
   * From the first to the last commit of a merged segment. Retention deletes
   * whole segments once their last commit leaves the PITR window, so a
   * merged segment keeps its oldest changes this much longer than the small
   * ones it replaced would have been kept.
   */
  maxSpanMicros: bigint;
}

/** Runs of two or more consecutive segments that may become one; segments in no run stay as they are. */
export function planRuns(segments: IndexedSegment[], limits: RunLimits): IndexedSegment[][] {
  const runs: IndexedSegment[][] = [];
  let run: IndexedSegment[] = [];
  let changes = 0;
  let firstMicros = 0n;
  let lastMicros = 0n;
  const close = () => {
    if (run.length > 1) runs.push(run);
    run = [];
    changes = 0;
  };
  for (const segment of segments) {
    // An unsettled segment is in no run, and no run reaches across it.
    if (!segment.settled) {
      close();
      continue;
    }
    if (run.length > 0) {
      const first = segment.firstCommitMicros < firstMicros ? segment.firstCommitMicros : firstMicros;
      const last = segment.lastCommitMicros > lastMicros ? segment.lastCommitMicros : lastMicros;
      const fits = changes + segment.changeCount <= limits.maxChanges && last - first <= limits.maxSpanMicros;
      if (segment.gapBefore || segment.slotName !== run[0].slotName || !fits) close();
    }
    if (run.length === 0) {
      firstMicros = segment.firstCommitMicros;
      lastMicros = segment.lastCommitMicros;
    } else {
      if (segment.firstCommitMicros < firstMicros) firstMicros = segment.firstCommitMicros;
      if (segment.lastCommitMicros > lastMicros) lastMicros = segment.lastCommitMicros;
    }
    run.push(segment);
    changes += segment.changeCount;
  }
  close();
  return runs;
}
