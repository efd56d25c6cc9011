import { JwsError, verifyJws } from '../../kms/jws';
import { canonicalJson } from '../canonical-json';
import { leafHash } from '../merkle';
import { Receipt, RECEIPT_FORMAT, RECEIPT_FORMAT_VERSION, RECEIPT_JWS_TYPE } from '../receipt.types';
import { receiptDigest, receiptLeaf } from '../sign';
import { TrustedKey } from './trusted-keys';
import { VerificationError } from './verification-error';

export interface VerifiedReceipt {
  /** where it came from (a file name), for messages */
  source: string;
  jws: string;
  receipt: Receipt;
  kid: string;
  /** SHA-256 of the JWS, hex */
  sha256: string;
  leafHash: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const PARTS = ['header', 'payload', 'signature'] as const;

/**
 * One receipt on its own: compact form, pinned header (ES256 and our `typ`),
 * a trusted `kid`, the signature, RFC 8785 canonical payload, and the fields
 * the log checks rely on. The first failed check is thrown, named.
 */
export function verifyReceiptJws(jws: string, keys: readonly TrustedKey[], source: string): VerifiedReceipt {
  const fail = (why: string) => new VerificationError(`${source}: ${why}`);
  const parts = jws.split('.');
  if (parts.length !== 3) throw fail(`not a compact JWS (${parts.length} dot-separated parts, expected 3)`);
  parts.forEach((part, i) => {
    // Base64url has spare bits in its last character: without this check a
    // changed character could decode to the same bytes and still "verify".
    if (!BASE64URL.test(part) || Buffer.from(part, 'base64url').toString('base64url') !== part) {
      throw fail(`the JWS ${PARTS[i]} is not canonical base64url`);
    }
  });
  const header = parseJson(parts[0], 'header', fail) as { alg?: unknown; typ?: unknown; kid?: unknown };
  if (header.alg !== 'ES256') throw fail(`the JWS algorithm is ${JSON.stringify(header.alg)}; only ES256 is accepted`);
  if (header.typ !== RECEIPT_JWS_TYPE) throw fail(`the JWS type is ${JSON.stringify(header.typ)}, not ${RECEIPT_JWS_TYPE}`);
  if (typeof header.kid !== 'string') throw fail('the JWS header has no kid');
  const key = keys.find((k) => k.kid === header.kid && k.purpose !== 'checkpoints');
  if (!key) {
    const known = keys.filter((k) => k.purpose !== 'checkpoints').map((k) => k.kid).join(', ');
    throw fail(`signed by key ${header.kid}, which is not a trusted receipts key (trusted: ${known || 'none'})`);
  }
  try {
    verifyJws(jws, key.key, RECEIPT_JWS_TYPE);
  } catch (error) {
    if (error instanceof JwsError) throw fail(`the signature does not verify against key ${key.kid} (${key.source})`);
    throw error;
  }
  const payloadText = Buffer.from(parts[1], 'base64url').toString('utf8');
  const receipt = parseJson(parts[1], 'payload', fail) as Receipt;
  if (canonicalJson(receipt) !== payloadText) throw fail('the payload is not RFC 8785 canonical JSON: it was re-serialised or edited');
  checkShape(receipt, fail);
  return { source, jws, receipt, kid: key.kid, sha256: receiptDigest(jws), leafHash: leafHash(receiptLeaf(jws)) };
}

function parseJson(part: string, what: string, fail: (why: string) => Error): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw fail(`the JWS ${what} is not JSON`);
  }
}

const isIndex = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Only what chain and log checks read; the rest of the content is evidence for people, not for this tool. */
function checkShape(receipt: Receipt, fail: (why: string) => Error): void {
  if (receipt.format !== RECEIPT_FORMAT) throw fail(`the payload is not a ${RECEIPT_FORMAT} (format ${JSON.stringify(receipt.format)})`);
  if (receipt.version !== RECEIPT_FORMAT_VERSION) {
    throw fail(`receipt format version ${JSON.stringify(receipt.version)} is not known to this verifier (it knows ${RECEIPT_FORMAT_VERSION})`);
  }
  if (typeof receipt.receiptId !== 'string' || typeof receipt.tenantId !== 'string') throw fail('the receipt has no receiptId or tenantId');
  const log = receipt.log as Partial<Receipt['log']> | undefined;
  if (!log || !isIndex(log.index)) throw fail('the receipt has no log index');
  const previous = log.previous;
  if (previous !== null && (typeof previous !== 'object' || !isIndex(previous?.index) || !/^[0-9a-f]{64}$/.test(String(previous?.sha256)))) {
    throw fail('the receipt\'s link to its predecessor is malformed');
  }
}
