import type { Erasure, TableRef } from '../datamap/datamap.types';

/**
 * Glossary of erasure and retention purges.
 * - target: what one purge removes inside one tenant — the whole tenant, one
 *   data subject, or one table's rows older than a cutoff (retention). All
 *   three run through the same plan, batches and census.
 * - subject keys: the primary keys of the subject's own rows (e.g. users
 *   `(tenant_id, id)`), resolved once before purging; every other table is
 *   matched against these keys, so the match survives the subject row's deletion.
 * - step: one table of the plan, in delete order (children before parents),
 *   with the one statement its batches repeat until it affects no row.
 * - pending rows: rows a step still has to delete, or to anonymize.
 * - retained rows: rows in scope that cannot be deleted because a row the law
 *   keeps (an anonymized invoice) still references them, or, for retention,
 *   any row still does. Reported, never silently skipped.
 * - kept rows: rows of an anonymize step left in place, already anonymized.
 * - census: one statement counting pending, retained and kept rows of every
 *   step in one snapshot: the initial counts before purging, the verification after.
 * - cursor: the step a purge is in and what its batches affected so far;
 *   carried in heartbeats so a retried activity resumes.
 */

export interface SubjectSelector {
  /** an identity column of the data map's subject table, e.g. `email` */
  column: string;
  value: string;
}

export type PurgeTarget =
  | { kind: 'tenant'; tenantId: string }
  | { kind: 'subject'; tenantId: string; subject: SubjectSelector }
  | {
      kind: 'retention';
      tenantId: string;
      /** `name` or `schema.name` of a tenant or child table */
      table: string;
      /** defaults to the table's retention rule in the data map */
      ageColumn?: string;
      /** ISO 8601 timestamp, kept as text (a JS Date would drop microseconds); rows strictly older go */
      cutoff: string;
      /** default: delete */
      action?: Erasure;
    };

/** Values a statement may bind, by name; a plan never holds a value, only which names it needs. */
export type ParamName =
  | 'tenantId'
  | 'subjectKeys'
  /** compared as text with a subject column that holds the identifier itself */
  | 'subjectValue'
  /** compared with the subject table's identity column, in that column's own type */
  | 'identityValue'
  | 'cutoff'
  | 'batchRows'
  | 'hmacInner'
  | 'hmacOuter';
export type ScopeValues = Partial<Record<ParamName, unknown>>;

export interface Statement {
  sql: string;
  /** `$1` is params[0], and so on */
  params: ParamName[];
}

export type StepAction = 'delete' | 'anonymize';

export interface PurgeStep {
  table: TableRef;
  action: StepAction;
  /** affects at most `batchRows` pending rows; repeated until it affects none */
  batch: Statement;
}

export interface PurgePlan {
  tenantId: string;
  steps: PurgeStep[];
  /** one row: `pending_<i>`, `retained_<i>`, `kept_<i>` for step i */
  census: Statement;
  /** some step hashes values: bind the tenant's HMAC pads */
  needsHashKey: boolean;
  /** some statement matches subject keys: resolve them first */
  needsSubjectKeys: boolean;
}

export interface StepCount {
  table: TableRef;
  action: StepAction;
  pendingRows: number;
  retainedRows: number;
  keptRows: number;
}

export interface BatchProgress {
  table: TableRef;
  /** rows the batch deleted or anonymized */
  affectedRows: number;
  batchRows: number;
  batchMs: number;
}

export interface PurgeCursor {
  /** index of the step in progress; the steps before it are finished */
  stepIndex: number;
  /** rows committed batches were seen to affect, per step index */
  affectedRows: number[];
  batches: number;
}
