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
  /** plaintext bytes (before compression) and their SHA-256 */
  bytes: number;
  sha256: string;
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

/** The resume cursor: small on purpose, it travels in every heartbeat. */
export interface ExportCursor {
  requestId: string;
  snapshots: SnapshotInfo[];
  /** tables whose every chunk is durable */
  completed: FileRecord[];
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
  /** false when a resumed export read its tables under more than one snapshot */
  consistent: boolean;
};
