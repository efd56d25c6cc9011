import { VerificationError } from './verification-error';
import { VerifiedReceipt } from './verify-receipt';

/**
 * The receipts as a sequence: sorted by the log index each one was signed
 * with, consecutive (a receipt removed from the middle leaves a hole), and
 * each naming its predecessor's digest (a receipt replaced or reordered
 * breaks the link). Returns them in log order.
 */
export function verifyChain(receipts: readonly VerifiedReceipt[]): VerifiedReceipt[] {
  const sorted = [...receipts].sort((a, b) => a.receipt.log.index - b.receipt.log.index);
  sorted.forEach((current, i) => {
    const { index, previous } = current.receipt.log;
    if (index === 0 && previous !== null) {
      throw new VerificationError(`${current.source}: log index 0 is the first receipt but names a predecessor`);
    }
    if (index > 0 && previous === null) {
      throw new VerificationError(`${current.source}: log index ${index} names no predecessor; only index 0 may`);
    }
    if (previous && previous.index !== index - 1) {
      throw new VerificationError(`${current.source}: log index ${index} names index ${previous.index} as its predecessor, not ${index - 1}`);
    }
    if (i === 0) return;
    const before = sorted[i - 1];
    const beforeIndex = before.receipt.log.index;
    if (index === beforeIndex) {
      throw new VerificationError(`two receipts claim log index ${index}: ${before.source} and ${current.source}`);
    }
    if (index !== beforeIndex + 1) {
      const missing = index - beforeIndex === 2 ? `log index ${beforeIndex + 1} is` : `log indexes ${beforeIndex + 1}–${index - 1} are`;
      throw new VerificationError(`${missing} missing: the receipts jump from ${before.source} (index ${beforeIndex}) to ${current.source} (index ${index})`);
    }
    if (previous!.sha256 !== before.sha256) {
      throw new VerificationError(
        `${current.source}: log index ${index} names predecessor digest ${previous!.sha256}, ` +
          `but ${before.source} (index ${beforeIndex}) has digest ${before.sha256}: the chain is broken`,
      );
    }
  });
  return sorted;
}
