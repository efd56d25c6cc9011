import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** Every object key under `prefix`, page by page. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Deletes keys in batches of 1,000 (the DeleteObjects limit); fails if S3 reports any key it could not delete. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
    );
    if (result.Errors?.length) {
      throw new Error(`S3 could not delete ${result.Errors.length} object(s), e.g. ${result.Errors[0].Key}: ${result.Errors[0].Message}`);
    }
  }
}

/**
 * Unfinished multipart uploads under `prefix`. MinIO matches `Prefix` here
 * only against whole object keys, so we list the bucket's uploads and filter
 * ourselves; the same code is right on S3.
 */
export async function listMultipartUploads(s3: S3Client, bucket: string, prefix: string): Promise<Array<{ key: string; uploadId: string }>> {
  const found: Array<{ key: string; uploadId: string }> = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const upload of page.Uploads ?? []) {
      if (upload.Key?.startsWith(prefix) && upload.UploadId) found.push({ key: upload.Key, uploadId: upload.UploadId });
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
  return found;
}

/** Aborts multipart uploads left under `prefix` (a crashed process cannot abort its own). */
export async function abortMultipartUploads(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const uploads = await listMultipartUploads(s3, bucket, prefix);
  for (const { key, uploadId } of uploads) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  }
  return uploads.length;
}

/** Removes everything under `prefix`: objects and unfinished multipart uploads. */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  await abortMultipartUploads(s3, bucket, prefix);
  await deleteKeys(s3, bucket, await listKeys(s3, bucket, prefix));
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw error;
  }
}
