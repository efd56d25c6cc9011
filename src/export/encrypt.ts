import { Duplex } from 'node:stream';
import { DetachableStream } from './detachable-stream';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  EncryptionContext,
  KeyringNode,
  NodeDecryptionMaterial,
  NodeDefaultCryptographicMaterialsManager,
  NodeEncryptionMaterial,
  NodeMaterialsManager,
} from '@aws-crypto/client-node';

/**
 * Envelope encryption of export objects with the AWS Encryption SDK message
 * format, so a tenant or auditor can also decrypt with the AWS Encryption CLI.
 *
 * - Committing and unsigned suite: each 256 KiB frame is authenticated
 *   (AES-GCM) before its plaintext is released, so streaming decryption never
 *   hands out unauthenticated bytes; provenance comes from the signed manifest.
 * - Frames of 256 KiB: the 4 KiB default costs about 10× the CPU per byte.
 * - Exactly one encrypted data key per message (one KMS key), which also
 *   bounds what a hostile message can make the decryptor do.
 */
export const EXPORT_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
export const EXPORT_SUITE_NAME = 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY';
export const FRAME_BYTES = 256 * 1024;
/** Decryption refuses larger frames: a hostile message cannot make it buffer more than this. */
const MAX_FRAME_BYTES = 1024 * 1024;

const esdk = buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys: 1 });

/**
 * The encryption context of every object of one export. KMS binds it to the
 * data key (AAD) and logs it in CloudTrail; key policies can condition on it.
 * Lowercase ASCII keys, never personal data.
 */
export function exportEncryptionContext(tenantId: string, requestId: string): EncryptionContext {
  return { tenant: tenantId, request: requestId, purpose: 'export' };
}

export function encryptStream(keyring: KeyringNode, context: EncryptionContext): Duplex {
  return new DetachableStream(esdk.encryptStream(keyring, { suiteId: EXPORT_SUITE, frameLength: FRAME_BYTES, encryptionContext: context }));
}

/** Encrypts a small buffer (the manifest) in one call. */
export async function encryptBuffer(keyring: KeyringNode, context: EncryptionContext, plaintext: Buffer): Promise<Buffer> {
  const { result } = await esdk.encrypt(keyring, plaintext, { suiteId: EXPORT_SUITE, frameLength: FRAME_BYTES, encryptionContext: context });
  return Buffer.from(result);
}

/**
 * Decrypts one unsigned message, refusing it unless its encryption context
 * holds every expected pair. The check runs when the header is parsed, before
 * KMS is asked for the data key and before any plaintext exists, so a message
 * from another tenant or request yields nothing.
 */
export function decryptStream(keyring: KeyringNode, expected: EncryptionContext): Duplex {
  const stream = esdk.decryptUnsignedMessageStream(new RequiredContextCmm(keyring, expected), { maxBodySize: MAX_FRAME_BYTES });
  // The SDK re-emits internal failures on this stream even after it was
  // destroyed; a standing listener keeps a late one from crashing the process.
  stream.on('error', () => undefined);
  return stream;
}

export class EncryptionContextMismatch extends Error {
  constructor(readonly key: string, readonly expected: string, readonly actual: string | undefined) {
    super(`encryption context "${key}" is ${actual === undefined ? 'missing' : JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    this.name = 'EncryptionContextMismatch';
  }
}

/** A materials manager that checks the message's encryption context before decrypting anything. */
class RequiredContextCmm implements NodeMaterialsManager {
  private readonly inner: NodeDefaultCryptographicMaterialsManager;

  constructor(keyring: KeyringNode, private readonly expected: EncryptionContext) {
    this.inner = new NodeDefaultCryptographicMaterialsManager(keyring);
  }

  getEncryptionMaterials(request: Parameters<NodeMaterialsManager['getEncryptionMaterials']>[0]): Promise<NodeEncryptionMaterial> {
    return this.inner.getEncryptionMaterials(request);
  }

  async decryptMaterials(request: Parameters<NodeMaterialsManager['decryptMaterials']>[0]): Promise<NodeDecryptionMaterial> {
    for (const [key, value] of Object.entries(this.expected)) {
      const actual = request.encryptionContext[key];
      if (actual !== value) throw new EncryptionContextMismatch(key, value, actual);
    }
    return this.inner.decryptMaterials(request);
  }
}
