import type { TableRef } from '../datamap/datamap.types';

/**
 * Glossary of the export.
 * - scope: what is exported — a whole tenant, or one data subject inside it.
 * - snapshot: the instant the export reads at (an exported Postgres snapshot
 *   shared by every table's COPY); recorded with its time, LSN and xmin/xmax.
 * - file: one logical output file, `tables/<table>.csv|jsonl` or `schema.json`.
 * - chunk: a slice of a file (whole rows, up to `chunkBytes` of plaintext),
 *   gzip-compressed, encrypted as its own AWS Encryption SDK message and
 *   uploaded as its own S3 object. Chunks are the unit of resumption.
 * - manifest: the last object written; lists every file and chunk with sizes,
 *   row counts and SHA-256 digests. Its presence means the export is complete.
 * - cursor: the chunks already durable in S3, carried in Temporal heartbeats
 *   so a retried attempt continues instead of starting over.
 */

export type ExportFormat = 'csv' | 'jsonl';

export interface SubjectSelector {
  /** an identity column of the data map's subject table, e.g. `email` */
  column: string;
  value: string;
}

export type ExportScope = { tenantId: string } | { tenantId: string; subject: SubjectSelector };

export function subjectOf(scope: ExportScope): SubjectSelector | undefined {
  return 'subject' in scope ? scope.subject : undefined;
}

export interface ExportProgress {
  /** file path inside the export, e.g. `tables/users.csv` */
  table: string;
  /** rows of this table copied so far */
  rows: number;
  /** plaintext bytes of this table copied so far */
  bytes: number;
  /** index of the chunk being written */
  chunk: number;
  /**
   * Of the whole export: rows copied (or kept from an earlier attempt) over
   * the planner's estimate of all rows; never above 99 before the manifest
   * is written, never backwards within an attempt.
   */
  percent?: number;
  /** true when this attempt discarded an earlier attempt's files and started over */
  restarted?: boolean;
}

/** What the snapshot looked like; enough for PITR replay to start exactly after it. */
export interface SnapshotInfo {
  takenAt: string;
  lsn: string;
  xmin: string;
  xmax: string;
  /** transactions in progress at the snapshot, invisible to it */
  xip: string[];
}

export interface ChunkRecord {
  index: number;
  /** object key relative to the export's prefix */
  key: string;
  rows: number;
  /** plaintext bytes (before compression) */
  bytes: number;
  /**
   * SHA-256 of the file's plaintext from its first byte through this chunk's
   * last (manifest format @2): a reader checks chunk after chunk in one pass,
   * and the last chunk's equals the file's. The export hashes the plaintext
   * once instead of once per file and once per chunk.
   */
  fileSha256?: string;
  /** SHA-256 of this chunk's plaintext alone (manifest format @1) */
  sha256?: string;
  /** the object as stored: encrypted bytes and their SHA-256 */
  objectBytes: number;
  objectSha256: string;
}

export interface FileRecord {
  path: string;
  /** null for files that are not a table (schema.json) */
  table: TableRef | null;
  /** data rows, without the CSV header; null for schema.json */
  rows: number | null;
  bytes: number;
  sha256: string;
  /** index into the manifest's `snapshots` the file was read under */
  snapshot: number | null;
  chunks: ChunkRecord[];
}

/**
 * A retry that kept files an earlier attempt had read, after proving them
 * unchanged at the retry's own snapshot (recorded in the manifest).
 */
export interface ResumeRecord {
  /** the snapshot the kept files were read at */
  from: SnapshotInfo;
  /** paths of the files kept */
  kept: string[];
  /** how they were proven unchanged: same row count, and no row version written since (see rowVersionsStatement) */
  proof: 'row-versions';
}

/**
 * The resume cursor: small on purpose, it travels in every heartbeat and is
 * kept durably next to the chunks (cursor.json.esdk).
 */
export interface ExportCursor {
  requestId: string;
  /**
   * The one instant every completed file is true at: none before the first
   * snapshot, never more than one (older cursors may hold several; a retry
   * then starts over).
   */
  snapshots: SnapshotInfo[];
  /** tables whose every chunk is durable */
  completed: FileRecord[];
  /** SHA-256 of each completed file's COPY statement: a file is kept only if the plan still reads it the same way */
  statements?: Record<string, string>;
  resumes?: ResumeRecord[];
}

/** A type, not an interface: Temporal results must be assignable to Record<string, unknown>. */
export type ExportResult = {
  bucket: string;
  /** `tenants/<tenant>/exports/<request>/` */
  prefix: string;
  manifestKey: string;
  signatureKey: string;
  /** SHA-256 of the manifest's plaintext, as signed */
  manifestSha256: string;
  files: number;
  rows: number;
  bytes: number;
  objectBytes: number;
  /** true: every file is the tenant's data at the manifest's one snapshot (older exports could say false) */
  consistent: boolean;
};
