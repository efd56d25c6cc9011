import { createHash, createHmac, randomBytes } from 'node:crypto';
import { EncryptionContext } from '@aws-crypto/client-node';
import { EXPORT_SESSION_SETTINGS } from './snapshot';
import { ExportFormat, FileRecord, ResumeRecord, SnapshotInfo, SubjectSelector } from './export.types';

/** @2: chunks carry the file's running SHA-256 (`fileSha256`) instead of their own (`sha256`, @1). */
export const MANIFEST_FORMAT = 'compliance-ops/export-manifest@2';
/** Formats `compliance-ops decrypt` still reads. */
export const READABLE_MANIFEST_FORMATS: ReadonlySet<string> = new Set(['compliance-ops/export-manifest@1', MANIFEST_FORMAT]);

/** A subject identifier never appears in clear: only an HMAC under a random per-export salt. */
export interface SubjectDigest {
  algorithm: 'HMAC-SHA256';
  /** base64url; HMAC key */
  salt: string;
  /** hex HMAC of `<column>\0<value>` */
  digest: string;
}

export type ManifestScope = { kind: 'tenant' } | { kind: 'subject'; column: string; value: SubjectDigest };

export interface ExportManifest {
  format: string;
  requestId: string;
  tenantId: string;
  scope: ManifestScope;
  dataFormat: ExportFormat;
  compression: 'gzip';
  createdAt: string;
  /** the one instant the files are true at (exports made before resumes were proven could hold several) */
  snapshots: SnapshotInfo[];
  consistent: boolean;
  /** retries that kept earlier attempts' files after proving them unchanged at `snapshots[0]`; absent if none */
  resumes?: ResumeRecord[];
  sessionSettings: Record<string, string>;
  encryption: { keyArn: string; suite: string; frameBytes: number; context: EncryptionContext };
  /** schema.json first, then the tables in plan order */
  files: FileRecord[];
}

export function subjectDigest(subject: SubjectSelector, salt: Buffer = randomBytes(16)): SubjectDigest {
  const digest = createHmac('sha256', salt).update(`${subject.column}\0${subject.value}`).digest('hex');
  return { algorithm: 'HMAC-SHA256', salt: salt.toString('base64url'), digest };
}

/** True when `value` is the subject a manifest was made for; lets an auditor check without the manifest revealing it. */
export function matchesSubject(digest: SubjectDigest, subject: SubjectSelector): boolean {
  return subjectDigest(subject, Buffer.from(digest.salt, 'base64url')).digest === digest.digest;
}

export interface ManifestInput extends Omit<ExportManifest, 'format' | 'scope' | 'consistent' | 'sessionSettings' | 'createdAt'> {
  subject?: SubjectSelector;
  createdAt?: Date;
}

export function buildManifest(input: ManifestInput): ExportManifest {
  const { subject, createdAt, resumes, ...rest } = input;
  const used = new Set(input.files.map((f) => f.snapshot).filter((s): s is number => s !== null));
  return {
    format: MANIFEST_FORMAT,
    ...rest,
    scope: subject ? { kind: 'subject', column: subject.column, value: subjectDigest(subject) } : { kind: 'tenant' },
    createdAt: (createdAt ?? new Date()).toISOString(),
    consistent: used.size <= 1,
    ...(resumes?.length ? { resumes } : {}),
    sessionSettings: { ...EXPORT_SESSION_SETTINGS },
  };
}

/** The manifest's bytes exactly as stored and signed. */
export function serializeManifest(manifest: ExportManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
