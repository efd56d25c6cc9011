import { DefaultFailureConverter } from '@temporalio/common';

/*
 * Loaded by path (the worker requires it, and bundles it into the workflow
 * sandbox), so it holds nothing but this export. No type annotations: under
 * vitest the worker requires this TypeScript source as it is (Node ≥ 20.19
 * loads it as an ES module); a build loads the compiled failure-converter.js.
 */

/**
 * Failure messages and stack traces travel as an encoded payload, which the
 * payload codec encrypts, instead of the clear `message` field: an error from
 * Postgres or a validation can quote the very identifier being erased.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
