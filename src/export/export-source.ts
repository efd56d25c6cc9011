import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { objectExists } from '../s3/prefix';

/** Where a finished export is read from: its S3 prefix, or a local copy of it. */
export interface ExportSource {
  /** for messages: `s3://bucket/prefix/` or a directory */
  readonly location: string;
  open(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
}

/**
 * `s3://bucket/tenants/<t>/exports/<r>/`, a directory holding the same files
 * (e.g. after `aws s3 cp --recursive`), or any file inside that directory.
 */
export function openExportSource(location: string, s3?: S3Client): ExportSource {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(location);
  if (match) {
    if (!s3) throw new Error('An S3 client is needed to read from S3');
    return s3Source(s3, match[1], match[2] === '' || match[2].endsWith('/') ? match[2] : `${match[2]}/`);
  }
  if (!existsSync(location)) throw new Error(`${location} does not exist; give an s3:// URI or the export's directory`);
  return localSource(statSync(location).isDirectory() ? location : dirname(location));
}

function s3Source(s3: S3Client, bucket: string, prefix: string): ExportSource {
  return {
    location: `s3://${bucket}/${prefix}`,
    async open(key) {
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }));
      if (!(Body instanceof Readable)) throw new Error(`s3://${bucket}/${prefix}${key}: no body`);
      return Body;
    },
    exists: (key) => objectExists(s3, bucket, prefix + key),
  };
}

function localSource(dir: string): ExportSource {
  const path = (key: string) => join(dir, ...key.split('/'));
  return {
    location: dir,
    open: async (key) => createReadStream(path(key)),
    exists: async (key) => existsSync(path(key)),
  };
}

export async function readAll(source: ExportSource, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await source.open(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
