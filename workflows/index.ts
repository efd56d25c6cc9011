// Every workflow the worker registers; the worker bundles this file.
export { exportWorkflow } from './export.workflow';
export { erasureWorkflow } from './erasure.workflow';
export { retentionWorkflow } from './retention.workflow';
export { retentionTenantWorkflow } from './retention-tenant.workflow';
export { promoteRestoreWorkflow, restoreWorkflow, snapshotWorkflow, walArchiverWorkflow } from './restore.workflow';
export { snapshotScheduleWorkflow } from './snapshot-schedule.workflow';
