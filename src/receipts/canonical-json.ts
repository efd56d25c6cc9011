/**
 * JSON Canonicalization Scheme (RFC 8785): the one byte sequence a receipt
 * has, so a verifier can tell "re-serialised" from "altered" and anyone can
 * recompute the signed bytes from the parsed receipt.
 *
 * - object keys sorted by their UTF-16 code units (what `Array.prototype.sort`
 *   does for strings), no whitespace;
 * - strings and numbers serialised as ECMAScript `JSON.stringify` does, which is
 *   exactly what RFC 8785 §3.2.2 prescribes (shortest round-trip numbers, `-0`
 *   as `0`, lowercase `\u00xx` escapes);
 * - input outside I-JSON (RFC 7493) is refused rather than silently changed:
 *   non-finite numbers, lone surrogates, and anything that is not plain JSON data.
 *
 * Written here rather than taken from a package because it is 50 lines, has no
 * edge we leave to a dependency, and is tested against the RFC's own examples.
 */
export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

const LONE_SURROGATE = /\p{Cs}/u;

export function canonicalJson(value: unknown): string {
  return serialize(value, '$');
}

/** The canonical UTF-8 bytes: what gets signed and hashed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function serialize(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'string':
      return quote(value, path);
    case 'object':
      return Array.isArray(value) ? serializeArray(value, path) : serializeObject(value as object, path);
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof value} has no JSON form`);
  }
}

function quote(text: string, path: string): string {
  if (LONE_SURROGATE.test(text)) throw new CanonicalJsonError(`${path}: the string has a lone UTF-16 surrogate`);
  return JSON.stringify(text);
}

function serializeArray(items: unknown[], path: string): string {
  return `[${items.map((item, i) => serialize(item, `${path}[${i}]`)).join(',')}]`;
}

function serializeObject(object: object, path: string): string {
  const prototype = Object.getPrototypeOf(object) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new CanonicalJsonError(`${path}: only plain objects are JSON data (got ${object.constructor?.name ?? 'an exotic object'})`);
  }
  const entries = Object.entries(object)
    // An undefined member is absent, as in JSON.stringify: JSON.parse never yields one.
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${quote(key, path)}:${serialize(member, `${path}.${key}`)}`).join(',')}}`;
}
