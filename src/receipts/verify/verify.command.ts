import { Command } from 'commander';
import { readEvidence } from './read-evidence';
import { loadTrustedKeys } from './trusted-keys';
import { VerificationError } from './verification-error';
import { verifyEvidence, VerificationReport } from './verify-evidence';

export interface VerifyOptions {
  publicKey: string[];
  checkpoint?: string;
  oldCheckpoint?: string;
  proof?: string;
}

/** The whole offline check: no database, no KMS, no network unless the key is a URL. */
export async function verifyPath(target: string, options: VerifyOptions): Promise<VerificationReport> {
  const keys = await loadTrustedKeys(options.publicKey);
  const evidence = await readEvidence(target, options);
  return verifyEvidence({ ...evidence, keys });
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function verifyCommand(): Command {
  return new Command('verify')
    .description('verify signed receipts offline: signature, canonical form, chain, inclusion in a checkpoint, consistency')
    .argument('<receipt>', 'a receipt (.jws, or .json with a "jws" member) or a folder from `receipts export`')
    .requiredOption('--public-key <pem|jwks|url>', 'a trusted public key: PEM, JWKS file or JWKS URL (repeatable)', collect)
    .option('--checkpoint <file>', 'a signed checkpoint (C2SP tlog-checkpoint) the receipts must be included in')
    .option('--old-checkpoint <file>', 'an older checkpoint the log must be consistent with')
    .option('--proof <file>', 'a .tlog-proof for one receipt, or a consistency proof from GET /v1/transparency/consistency')
    .addHelpText('after', '\nExit status: 0 valid (one-line summary on stdout), 1 invalid (the first failure on stderr).')
    .action(async (target: string, options: VerifyOptions) => {
      try {
        const report = await verifyPath(target, options);
        process.stdout.write(`${report.summary}\n`);
      } catch (error) {
        if (!(error instanceof VerificationError)) throw error;
        process.stderr.write(`invalid: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
