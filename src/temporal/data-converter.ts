import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataConverter, defaultPayloadConverter, LoadedDataConverter } from '@temporalio/common';
import { Config } from '../config';
import { createKmsClient } from '../kms/kms';
import { KmsDataKeys } from './data-keys';
import { EncryptionCodec } from './payload-codec';
import { failureConverter } from './failure-converter';

/** The failure converter's module, as the worker must name it: the TypeScript source under vitest, else the build. */
function failureConverterPath(): string {
  const base = join(__dirname, 'failure-converter');
  return existsSync(`${base}.ts`) ? `${base}.ts` : `${base}.js`;
}

/** The KMS key data keys are generated under: its own, or the exports key (then told apart by encryption context). */
export function payloadKeyArn(config: Config): string {
  return config.KMS_PAYLOAD_KEY_ARN ?? config.KMS_EXPORT_KEY_ARN;
}

const codecs = new Map<string, EncryptionCodec>();

/**
 * One codec per process and KMS key, so the API's client and the worker
 * running in the same process (`compliance-ops start`) share one data key.
 * Its KMS client lives as long as the process: its idle sockets do not keep
 * the process alive.
 */
export function payloadCodec(config: Config): EncryptionCodec {
  const keyArn = payloadKeyArn(config);
  const id = [config.KMS_ENDPOINT ?? 'aws', config.KMS_REGION, keyArn].join(' ');
  let codec = codecs.get(id);
  if (!codec) {
    codec = new EncryptionCodec(new KmsDataKeys(createKmsClient(config), keyArn));
    codecs.set(id, codec);
  }
  return codec;
}

/**
 * For every Temporal Client: payloads encrypted, failure messages encoded.
 * Already loaded, so no module is required by path (the Client accepts either form).
 */
export function clientDataConverter(config: Config): DataConverter {
  const loaded: LoadedDataConverter = { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: [payloadCodec(config)] };
  return loaded;
}

/** For every Worker: the same, with the failure converter by path, since workflow code is bundled. */
export function workerDataConverter(config: Config): DataConverter {
  return { failureConverterPath: failureConverterPath(), payloadCodecs: [payloadCodec(config)] };
}
