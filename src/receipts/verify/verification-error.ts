import { readFile } from 'node:fs/promises';

/**
 * Why a piece of evidence is not valid, in one sentence that names the file
 * and the check: `compliance-ops verify` prints it and exits 1.
 */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

/** Reads an evidence file; a missing or unreadable one is a verification failure that names it. */
export async function readEvidenceFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new VerificationError(`${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
