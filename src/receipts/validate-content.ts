import { badInput } from '../errors';
import { ReceiptContent, ReceiptContentSchema } from './receipt.types';

/** Anything shaped like an e-mail address. A tripwire, not a PII detector: it catches the likeliest slip. */
const EMAIL_LIKE = /[^\s@"]+@[^\s@"]+\.[a-z]{2,}/i;

/**
 * Checks a receipt's content before it is signed. A signed receipt lands in an
 * Object Lock bucket that nobody can empty before its retention ends, so a
 * personal detail that slipped in could never be erased again: better that
 * the activity fails here, visibly, and is fixed.
 */
export function parseReceiptContent(input: unknown): ReceiptContent {
  const parsed = ReceiptContentSchema.safeParse(input);
  if (!parsed.success) {
    throw badInput('invalid_receipt_content', 'the receipt content is not valid; fix the caller before anything is signed', {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  const personal = findEmailLike(parsed.data, '');
  if (personal) {
    throw badInput('personal_data_in_receipt', `${personal} looks like an e-mail address; receipts name people only through hashSubject()`);
  }
  return parsed.data;
}

function findEmailLike(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return EMAIL_LIKE.test(value) ? path || '(value)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findEmailLike(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      const hit = findEmailLike(member, path ? `${path}.${key}` : key);
      if (hit) return hit;
    }
  }
  return undefined;
}
