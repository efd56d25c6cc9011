import { Readable } from 'node:stream';
import { KMSClient } from '@aws-sdk/client-kms';
import { Config } from '../config';
import { kmsPublicKey } from '../kms/jws';
import { kmsKeyring } from '../kms/keyring';
import { decryptStream, exportEncryptionContext } from './encrypt';
import { ExportSource, readAll } from './export-source';
import { MANIFEST_KEY, SIGNATURE_KEY } from './layout';
import { ExportManifest, READABLE_MANIFEST_FORMATS, sha256Hex } from './manifest';
import { verifyManifestSignature } from './sign-manifest';

/** A check of an export failed; `object` names the file or object, the message what and why. */
export class ExportVerificationError extends Error {
  constructor(readonly object: string, message: string, options?: { cause?: unknown }) {
    super(`${object}: ${message}`, options);
    this.name = 'ExportVerificationError';
  }
}

export interface ExpectedExport {
  tenantId?: string;
  requestId?: string;
}

export interface VerifiedManifest {
  manifest: ExportManifest;
  manifestSha256: string;
  manifestObjectBytes: number;
  /** the encryption context every object of the export must carry */
  context: Record<string, string>;
  signedBy: string;
}

/**
 * Reads and checks the manifest: the signature against the receipts key's
 * public key, the encrypted object against the signed digest, then decrypts
 * it under the expected encryption context (the caller's, else the signed
 * one) and checks the plaintext digest. Throws ExportVerificationError naming
 * what failed.
 */
export async function readVerifiedManifest(
  source: ExportSource,
  deps: { config: Config; kms: KMSClient },
  expect: ExpectedExport = {},
): Promise<VerifiedManifest> {
  if (!(await source.exists(MANIFEST_KEY))) {
    throw new ExportVerificationError(MANIFEST_KEY, `missing in ${source.location}: the export is incomplete or the location is wrong`);
  }
  if (!(await source.exists(SIGNATURE_KEY))) throw new ExportVerificationError(SIGNATURE_KEY, `missing in ${source.location}`);
  const jws = (await readAll(source, SIGNATURE_KEY)).toString('utf8');
  const publicKey = await kmsPublicKey(deps.kms, deps.config.KMS_RECEIPT_KEY_ARN);
  const signature = attempt(SIGNATURE_KEY, () => verifyManifestSignature(jws, publicKey));
  if (signature.kid !== deps.config.KMS_RECEIPT_KEY_ARN) {
    throw new ExportVerificationError(SIGNATURE_KEY, `signed by ${signature.kid}, not the receipts key ${deps.config.KMS_RECEIPT_KEY_ARN}`);
  }
  const signed = signature.payload;
  const context = exportEncryptionContext(expect.tenantId ?? signed.tenantId, expect.requestId ?? signed.requestId);

  const encrypted = await readAll(source, MANIFEST_KEY);
  if (sha256Hex(encrypted) !== signed.manifest.objectSha256) {
    throw new ExportVerificationError(MANIFEST_KEY, 'does not match the digest in manifest.jws (altered or replaced)');
  }
  const plaintext = await decryptSmall(deps.config, MANIFEST_KEY, encrypted, context);
  const manifestSha256 = sha256Hex(plaintext);
  if (manifestSha256 !== signed.manifest.sha256) {
    throw new ExportVerificationError(MANIFEST_KEY, 'decrypted manifest does not match the signed digest');
  }
  const manifest = attempt(MANIFEST_KEY, () => JSON.parse(plaintext.toString('utf8')) as ExportManifest);
  if (!READABLE_MANIFEST_FORMATS.has(manifest.format)) throw new ExportVerificationError(MANIFEST_KEY, `unknown format ${String(manifest.format)}`);
  if (manifest.tenantId !== context.tenant || manifest.requestId !== context.request || signed.tenantId !== context.tenant) {
    throw new ExportVerificationError(MANIFEST_KEY, 'names another tenant or request than its encryption context');
  }
  return { manifest, manifestSha256, manifestObjectBytes: encrypted.length, context, signedBy: signature.kid };
}

async function decryptSmall(config: Config, object: string, encrypted: Buffer, context: Record<string, string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const part of Readable.from([encrypted]).pipe(decryptStream(kmsKeyring(config, config.KMS_EXPORT_KEY_ARN), context))) {
      parts.push(part as Buffer);
    }
  } catch (error) {
    throw new ExportVerificationError(object, `cannot be decrypted: ${(error as Error).message}`, { cause: error });
  }
  return Buffer.concat(parts);
}

function attempt<T>(object: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new ExportVerificationError(object, (error as Error).message, { cause: error });
  }
}
