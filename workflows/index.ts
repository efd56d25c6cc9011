// Every workflow the worker registers; the worker bundles this file.
export { exportWorkflow } from './export.workflow';
export { erasureWorkflow } from './erasure.workflow';
