import { KeyObject } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { signJws, verifyJws } from '../kms/jws';

/** Pinned on both sides: a JWS of another type is never taken for a manifest signature. */
export const MANIFEST_JWS_TYPE = 'compliance-ops.export-manifest+jws';

/**
 * What the receipts key signs: the manifest's digest, not the manifest, so
 * the signature can sit in clear next to the encrypted manifest without
 * revealing table names or row counts.
 */
export interface ManifestSignature {
  requestId: string;
  tenantId: string;
  manifest: {
    key: string;
    /** SHA-256 of the manifest's plaintext */
    sha256: string;
    /** SHA-256 of the encrypted object as stored */
    objectSha256: string;
  };
  signedAt: string;
}

export function signManifest(kms: KMSClient, keyArn: string, payload: ManifestSignature): Promise<string> {
  return signJws(kms, keyArn, MANIFEST_JWS_TYPE, payload);
}

export function verifyManifestSignature(jws: string, publicKey: KeyObject): { kid: string; payload: ManifestSignature } {
  const { header, payload } = verifyJws<ManifestSignature>(jws, publicKey, MANIFEST_JWS_TYPE);
  return { kid: header.kid, payload };
}
