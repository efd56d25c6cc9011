import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { defaultPayloadConverter, Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { KmsDataKeys, PAYLOAD_KEY_CONTEXT } from '../../src/temporal/data-keys';
import { ENCRYPTED_ENCODING, EncryptionCodec, PayloadDecryptionError } from '../../src/temporal/payload-codec';

const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/test';

/** A stand-in for KMS: wraps data keys by remembering them, and checks the key and the encryption context. */
function fakeKms() {
  const wrapped = new Map<string, Buffer>();
  const calls = { generate: 0, decrypt: 0 };
  const sameContext = (context: Record<string, string> | undefined) => JSON.stringify(context) === JSON.stringify(PAYLOAD_KEY_CONTEXT);
  const kms = {
    async send(command: GenerateDataKeyCommand | DecryptCommand) {
      if (command instanceof GenerateDataKeyCommand) {
        calls.generate += 1;
        if (command.input.KeyId !== KEY_ARN || !sameContext(command.input.EncryptionContext)) throw new Error('AccessDenied');
        const plaintext = randomBytes(32);
        const blob = randomBytes(48);
        wrapped.set(blob.toString('hex'), Buffer.from(plaintext));
        return { Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
      }
      calls.decrypt += 1;
      const key = wrapped.get(Buffer.from(command.input.CiphertextBlob!).toString('hex'));
      if (!key || command.input.KeyId !== KEY_ARN || !sameContext(command.input.EncryptionContext)) throw new Error('InvalidCiphertextException');
      return { Plaintext: new Uint8Array(key) };
    },
  };
  return { kms: kms as unknown as KMSClient, calls };
}

const subject = { column: 'email', value: 'ada.lovelace@example.com' };
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value)!;
const bytesOf = (payloads: Payload[]) => Buffer.concat(payloads.flatMap((p) => [
  ...Object.entries(p.metadata ?? {}).flatMap(([k, v]) => [Buffer.from(k), Buffer.from(v)]), Buffer.from(p.data ?? []),
]));

describe('the Temporal payload codec', () => {
  it('round-trips payloads and leaves nothing of them in clear, marked as opaque binary', async () => {
    const { kms } = fakeKms();
    const codec = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    const input = [payloadOf({ requestId: 'r1', subject }), payloadOf(null), payloadOf('plain text')];
    const encoded = await codec.encode(input);

    expect(bytesOf(encoded).includes(subject.value)).toBe(false);
    expect(bytesOf(encoded).includes('json/plain')).toBe(false);
    for (const p of encoded) expect(Buffer.from(p.metadata!.encoding).toString()).toBe(ENCRYPTED_ENCODING);
    const decoded = await codec.decode(encoded);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([{ requestId: 'r1', subject }, null, 'plain text']);
  });

  it('asks KMS for one data key per process, however many payloads at once', async () => {
    const { kms, calls } = fakeKms();
    const codec = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    const encoded = await Promise.all(Array.from({ length: 20 }, (_, i) => codec.encode([payloadOf(i)])));
    expect(calls.generate).toBe(1);
    expect(new Set(encoded.map(([p]) => Buffer.from(p.metadata!['encryption-key-id']).toString())).size).toBe(1);
    // Its own payloads come back without a KMS call.
    await codec.decode(encoded.flat());
    expect(calls.decrypt).toBe(0);
  });

  it('another process unwraps a data key through KMS once, then from its cache', async () => {
    const { kms, calls } = fakeKms();
    const writer = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    const reader = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    const encoded = await writer.encode([payloadOf('a'), payloadOf('b')]);
    await reader.decode(encoded);
    await reader.decode(encoded);
    expect(calls.decrypt).toBe(1);
    expect((await reader.decode(encoded)).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['a', 'b']);
  });

  it('makes a new data key once the current one is too old; older payloads still decode', async () => {
    const { kms, calls } = fakeKms();
    const keys = new KmsDataKeys(kms, KEY_ARN, { maxAgeMs: 1000 });
    const first = await keys.encryptionKey(0);
    expect((await keys.encryptionKey(999)).id).toBe(first.id);
    expect((await keys.encryptionKey(1000)).id).not.toBe(first.id);
    expect(calls.generate).toBe(2);
  });

  it('refuses a payload whose bytes, key id or data key were altered', async () => {
    const { kms } = fakeKms();
    const codec = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    const [encoded] = await codec.encode([payloadOf({ subject })]);
    const other = (await new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN)).encode([payloadOf('x')]))[0];

    const flipped = Buffer.from(encoded.data!);
    flipped[flipped.length - 20] ^= 0x01;
    await expect(codec.decode([{ ...encoded, data: flipped }])).rejects.toThrow(PayloadDecryptionError);

    const truncated = encoded.data!.subarray(0, 20);
    await expect(codec.decode([{ ...encoded, data: truncated }])).rejects.toThrow(PayloadDecryptionError);

    // Another valid data key and id, but this payload was not sealed under it.
    const movedKey = { ...encoded.metadata, 'encryption-key-id': other.metadata!['encryption-key-id'], 'encryption-data-key': other.metadata!['encryption-data-key'] };
    await expect(codec.decode([{ ...encoded, metadata: movedKey }])).rejects.toThrow(/altered|another key/);

    const wrongId = { ...encoded.metadata, 'encryption-key-id': other.metadata!['encryption-key-id'] };
    await expect(codec.decode([{ ...encoded, metadata: wrongId }])).rejects.toThrow(/key id does not match/);
  });

  it('passes payloads written before encryption through unchanged', async () => {
    const { kms, calls } = fakeKms();
    const codec = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    const plain = payloadOf({ old: true });
    expect(await codec.decode([plain])).toEqual([plain]);
    expect(calls).toEqual({ generate: 0, decrypt: 0 });
  });
});

describe('the payload data keys when KMS is down', () => {
  it('fail as a retryable 503 (kms_unavailable), not as an internal error', async () => {
    const kms = new KMSClient({
      endpoint: 'http://127.0.0.1:1', region: 'eu-west-2', maxAttempts: 1,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    const codec = new EncryptionCodec(new KmsDataKeys(kms, KEY_ARN));
    await expect(codec.encode([payloadOf(subject)])).rejects.toMatchObject({ kind: 'unavailable', code: 'kms_unavailable' });
    kms.destroy();
  });
});
