import { S3Client } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { Config } from '../config';
import { DataMap } from '../datamap/datamap.types';
import { exportsPrefixOfTenant } from '../export/layout';
import type { IssuedReceipt, ReceiptContent } from '../receipts/receipt.types';
import { ReceiptsService } from '../receipts/receipts.service';
import { ArchiveShredResult, shreddedArchiveRemains, shredTenantArchive, subjectArchiveRemains } from '../restore/archive-shredding';
import { parseDurationMs } from '../restore/pitr-window';
import { eraseInStagings, stagingRemains } from '../restore/staging-lifecycle';
import { deletePrefix, listKeys } from '../s3/prefix';
import type { PurgeResult } from './erasure.activities';
import { erasureReceiptContent, ReceiptFacts } from './erasure-receipt';
import type { Verification } from './verify';

export interface ClosingDependencies {
  config: Config;
  s3: S3Client;
  /** the application database: restore staging schemas live there */
  appPool: Pool;
  /** the catalog: the restore archive's index (snapshots, WAL segments, staging schemas) */
  catalogPool: Pool;
  subjectHashSecret: string | Buffer;
  receipts: ReceiptsService;
  loadDataMap(): Promise<DataMap>;
}

/** The last steps of an erasure: shred what lives outside the database, then sign the receipt. */
export function createClosingActivities(deps: ClosingDependencies) {
  return {
    /**
     * Deletes the tenant's exports: every one of them holds the tenant's data,
     * and every one holds a subject's too. Returns how many objects went.
     */
    async shredExports(input: { tenantId: string }): Promise<{ objects: number }> {
      const prefix = exportsPrefixOfTenant(input.tenantId);
      const objects = (await listKeys(deps.s3, deps.config.S3_EXPORT_BUCKET, prefix)).length;
      await deletePrefix(deps.s3, deps.config.S3_EXPORT_BUCKET, prefix);
      return { objects };
    },

    /**
     * The tenant's restore archive and staging restores. A tenant erasure
     * shreds every snapshot and WAL segment and drops every staging schema;
     * a subject erasure keeps the archive (the tenant's restore points, and
     * restores erase the subject again) and erases the subject in every
     * staged schema now. Returns what the receipt states about them.
     */
    async shredRestoreArchive(input: { tenantId: string; wholeTenant: boolean }): Promise<{ remains: ReceiptContent['remains']; shredded?: ArchiveShredResult }> {
      const staging = await eraseInStagings(deps, await deps.loadDataMap(), input);
      if (!input.wholeTenant) {
        const window = deps.config.PITR_WINDOW;
        return { remains: [...subjectArchiveRemains(new Date(Date.now() + parseDurationMs(window)!), window), stagingRemains(staging, false)] };
      }
      const shredded = await shredTenantArchive({ catalogPool: deps.catalogPool, s3: deps.s3, bucket: deps.config.S3_EXPORT_BUCKET }, input.tenantId);
      return { remains: [...shreddedArchiveRemains(shredded), stagingRemains(staging, true)], shredded };
    },

    /** Idempotent: the receipt service answers a repeat for the same request with the first receipt. */
    async issueReceipt(input: { facts: ReceiptFacts; purge: PurgeResult; verification: Verification }): Promise<IssuedReceipt> {
      const content = erasureReceiptContent(input.facts, await deps.loadDataMap(), input.purge, input.verification);
      return deps.receipts.issue(content);
    },
  };
}

export type ClosingActivities = ReturnType<typeof createClosingActivities>;
