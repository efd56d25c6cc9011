import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EcdsaSigner, localEcdsaSigner } from '../../src/kms/ecdsa';
import { derToJoseSignature } from '../../src/kms/jws';
import { canonicalJson } from '../../src/receipts/canonical-json';
import { signCheckpoint } from '../../src/receipts/checkpoint';
import { leafHash, MerkleTree } from '../../src/receipts/merkle';
import { Receipt } from '../../src/receipts/receipt.types';
import { evidenceName } from '../../src/receipts/receipts-export';
import { decodeReceipt, receiptDigest, receiptLeaf, signersJwks, signReceipt } from '../../src/receipts/sign';
import { formatTlogProof } from '../../src/receipts/tlog-proof';
import { loadTrustedKeys, TrustedKey } from '../../src/receipts/verify/trusted-keys';
import { VerificationError } from '../../src/receipts/verify/verification-error';
import { verifyCommand, verifyPath } from '../../src/receipts/verify/verify.command';
import { Evidence, verifyEvidence } from '../../src/receipts/verify/verify-evidence';

const ORIGIN = 'compliance-ops.test/receipts';
const newSigner = (): EcdsaSigner => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return localEcdsaSigner(privateKey, publicKey);
};

function receiptAt(index: number, previousJws: string | null): Receipt {
  return {
    format: 'compliance-ops.receipt', version: 1, receiptId: randomUUID(), issuedAt: new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString(),
    requestId: randomUUID(), kind: 'erasure', tenantId: `tenant-${index % 3}`, scope: { type: 'tenant' },
    policy: { reason: 'off-boarding' }, requestedBy: { role: 'operator', subject: 'svc-test' },
    tables: [{ table: 'users', method: 'delete', rows: index + 1 }],
    timestamps: { requestedAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:00.000Z' },
    verification: { method: 'row-count-in-fresh-snapshot', result: 'passed', snapshot: '1:1:', checkedAt: '2026-01-01T00:00:00.000Z', tables: [] },
    remains: [], notCovered: [], legalHolds: [], workflow: { id: `erasure:${index}` },
    tool: { name: 'compliance-ops', version: 'test' },
    log: { origin: ORIGIN, index, previous: previousJws ? { index: index - 1, sha256: receiptDigest(previousJws) } : null },
  };
}

/** A log as the service would build it, signed with local keys. */
async function buildLog(count: number, receiptSigner: EcdsaSigner, checkpointSigner: EcdsaSigner, order?: number[]) {
  const jwss: string[] = [];
  for (let i = 0; i < count; i++) jwss.push(await signReceipt(receiptAt(i, jwss[i - 1] ?? null), receiptSigner));
  const leaves = (order ?? jwss.map((_, i) => i)).map((i) => leafHash(receiptLeaf(jwss[i])));
  const tree = new MerkleTree(leaves);
  const checkpoint = async (size: number) => (await signCheckpoint({ origin: ORIGIN, size, rootHash: tree.root(size) }, checkpointSigner)).note;
  return { jwss, tree, checkpoint };
}

let dir: string;
let receiptsKey: EcdsaSigner;
let checkpointsKey: EcdsaSigner;
let jwksFile: string;
let keys: TrustedKey[];
let log: Awaited<ReturnType<typeof buildLog>>;
let checkpoint6: string;

function nameOf(jws: string): string {
  try {
    return evidenceName(decodeReceipt(jws).log.index, decodeReceipt(jws).receiptId);
  } catch {
    return 'unreadable'; // a tampered payload: the verifier, not this helper, must say what is wrong
  }
}
const evidence = (jwss: string[], extra: Partial<Evidence> = {}): Evidence => ({
  receipts: jwss.map((jws) => ({ source: `receipts/${nameOf(jws)}.jws`, jws })),
  keys, checkpoint: { source: 'checkpoint', note: checkpoint6 }, ...extra,
});

async function writeFolder(folder: string, jwss: string[], note: string): Promise<string> {
  await rm(folder, { recursive: true, force: true });
  await mkdir(join(folder, 'receipts'), { recursive: true });
  await mkdir(join(folder, 'proofs'), { recursive: true });
  await writeFile(join(folder, 'checkpoint'), note);
  for (const jws of jwss) {
    const index = decodeReceipt(jws).log.index;
    await writeFile(join(folder, 'receipts', `${nameOf(jws)}.jws`), jws);
    await writeFile(join(folder, 'proofs', `${nameOf(jws)}.tlog-proof`), formatTlogProof({ index, inclusion: log.tree.inclusionProof(index, 6), checkpoint: note }));
  }
  return folder;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'receipts-verify-'));
  receiptsKey = newSigner();
  checkpointsKey = newSigner();
  jwksFile = join(dir, 'trusted-jwks.json');
  await writeFile(jwksFile, JSON.stringify(await signersJwks({ receipts: receiptsKey, checkpoints: checkpointsKey })));
  keys = await loadTrustedKeys([jwksFile]);
  log = await buildLog(6, receiptsKey, checkpointsKey);
  checkpoint6 = await log.checkpoint(6);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('compliance-ops verify accepts valid evidence', () => {
  it('a whole exported folder: signatures, chain, root recomputed, every proof', async () => {
    const folder = await writeFolder(join(dir, 'pack'), log.jwss, checkpoint6);
    const report = await verifyPath(folder, { publicKey: [jwksFile] });
    expect(report.summary).toMatch(/^valid: 6 receipts \(log indexes 0–5\), chain intact, signed by .*; included in checkpoint compliance-ops\.test\/receipts size 6/);
  });

  it('one receipt (.jws or API JSON) with its tlog-proof, and consistency with an older checkpoint by recomputation', async () => {
    const folder = await writeFolder(join(dir, 'one'), log.jwss, checkpoint6);
    const name = nameOf(log.jwss[3]);
    const json = join(dir, 'receipt.json');
    await writeFile(json, JSON.stringify({ receiptId: 'x', jws: log.jwss[3] }));
    for (const target of [join(folder, 'receipts', `${name}.jws`), json]) {
      const report = await verifyPath(target, { publicKey: [jwksFile], proof: join(folder, 'proofs', `${name}.tlog-proof`) });
      expect(report.summary).toMatch(/^valid: 1 receipt \(log index 3\).*included in checkpoint .* size 6/);
    }
    const old = join(dir, 'old-checkpoint');
    await writeFile(old, await log.checkpoint(4));
    const report = await verifyPath(folder, { publicKey: [jwksFile], oldCheckpoint: old });
    expect(report.summary).toMatch(/consistent with the older checkpoint of size 4$/);
  });

  it('a suffix of the log with proofs, consistent with an older checkpoint through a consistency proof', async () => {
    const proofs = [3, 4, 5].map((index) => ({ source: `p${index}`, proof: { index, inclusion: log.tree.inclusionProof(index, 6), checkpoint: checkpoint6 } }));
    const oldCheckpoint = { source: 'old', note: await log.checkpoint(2) };
    const consistencyProof = { source: 'consistency.json', from: 2, to: 6, proof: log.tree.consistencyProof(2, 6) };
    const report = verifyEvidence(evidence(log.jwss.slice(3), { inclusionProofs: proofs, oldCheckpoint, consistencyProof }));
    expect(report.summary).toMatch(/3 receipts \(log indexes 3–5\).*consistent with the older checkpoint of size 2$/);
    const wrong = { ...consistencyProof, proof: log.tree.consistencyProof(3, 6) };
    expect(() => verifyEvidence(evidence(log.jwss.slice(3), { inclusionProofs: proofs, oldCheckpoint, consistencyProof: wrong })))
      .toThrow(/^consistency\.json: the consistency proof/);
  });
});

describe('compliance-ops verify names the first failure precisely', () => {
  it('changing any character of a receipt fails', () => {
    const jws = log.jwss[2];
    const source = `receipts/${nameOf(jws)}.jws`;
    for (let i = 0; i < jws.length; i++) {
      const tampered = jws.slice(0, i) + (jws[i] === 'A' ? 'B' : 'A') + jws.slice(i + 1);
      const receipts = log.jwss.map((j) => (j === jws ? tampered : j));
      expect(() => verifyEvidence(evidence(receipts)), `character ${i}`).toThrow(VerificationError);
    }
    const payloadAt = jws.indexOf('.') + 5;
    const flipped = jws.slice(0, payloadAt) + (jws[payloadAt] === 'A' ? 'B' : 'A') + jws.slice(payloadAt + 1);
    expect(() => verifyEvidence({ ...evidence(log.jwss), receipts: [{ source, jws: flipped }] }))
      .toThrow(`${source}: the signature does not verify against key ${keys[0].kid}`);
  });

  it('changing any character of the checkpoint fails', () => {
    for (let i = 0; i < checkpoint6.length; i++) {
      const tampered = checkpoint6.slice(0, i) + (checkpoint6[i] === 'A' ? 'B' : 'A') + checkpoint6.slice(i + 1);
      expect(() => verifyEvidence(evidence(log.jwss, { checkpoint: { source: 'checkpoint', note: tampered } })), `character ${i}`).toThrow(/^checkpoint: /);
    }
  });

  it('a receipt removed from the middle', async () => {
    const folder = await writeFolder(join(dir, 'hole'), log.jwss, checkpoint6);
    await unlink(join(folder, 'receipts', `${nameOf(log.jwss[2])}.jws`));
    await expect(verifyPath(folder, { publicKey: [jwksFile] })).rejects.toThrow(
      `log index 2 is missing: the receipts jump from receipts/${nameOf(log.jwss[1])}.jws (index 1) to receipts/${nameOf(log.jwss[3])}.jws (index 3)`,
    );
  });

  it('reordered leaves under a checkpoint, and a log re-signed in another order against an older checkpoint', async () => {
    const reordered = await buildLog(6, receiptsKey, checkpointsKey, [0, 1, 3, 2, 4, 5]);
    const badCheckpoint = await reordered.checkpoint(6);
    expect(() => verifyEvidence(evidence(log.jwss, { checkpoint: { source: 'checkpoint', note: badCheckpoint } })))
      .toThrow(/^the receipts at log indexes 0–5 hash to root .* but the checkpoint says .*: a receipt was altered, removed, reordered or added$/);
    // The operator holds the keys and re-signs everything; only the auditor's older checkpoint shows it.
    const rewritten = await buildLog(6, receiptsKey, checkpointsKey);
    const checkpoints = { checkpoint: { source: 'checkpoint', note: await rewritten.checkpoint(6) }, oldCheckpoint: { source: 'old', note: await log.checkpoint(4) } };
    expect(() => verifyEvidence(evidence(rewritten.jwss, checkpoints)))
      .toThrow(/^old: the log was rewritten: its first 4 receipts hash to /);
  });

  it('a receipt whose link names another predecessor', async () => {
    const forged = receiptAt(3, log.jwss[1]);
    forged.log.previous = { index: 2, sha256: receiptDigest(log.jwss[1]) };
    const jws = await signReceipt(forged, receiptsKey);
    const receipts = [...log.jwss.slice(0, 3), jws, ...log.jwss.slice(4)];
    expect(() => verifyEvidence(evidence(receipts))).toThrow(/index 3 names predecessor digest [0-9a-f]+, but .* \(index 2\) has digest [0-9a-f]+: the chain is broken$/);
  });

  it('a checkpoint signed by another key, or by the receipts key', async () => {
    for (const signer of [newSigner(), receiptsKey]) {
      const note = (await signCheckpoint({ origin: ORIGIN, size: 6, rootHash: log.tree.root() }, signer)).note;
      expect(() => verifyEvidence(evidence(log.jwss, { checkpoint: { source: 'checkpoint', note } })))
        .toThrow(/^checkpoint: no signature by a trusted key: the note is signed by compliance-ops\.test\/receipts\/[0-9a-f]{8}; trusted keys are /);
    }
  });

  it('a receipt signed by an unknown key, re-serialised, or with another algorithm', async () => {
    const stranger = await signReceipt(receiptAt(0, null), newSigner());
    expect(() => verifyEvidence(evidence([stranger]))).toThrow(/signed by key .*, which is not a trusted receipts key/);
    const [header, payload] = log.jwss[0].split('.');
    const pretty = Buffer.from(JSON.stringify(decodeReceipt(log.jwss[0]), null, 1)).toString('base64url');
    const input = `${header}.${pretty}`;
    const resigned = `${input}.${derToJoseSignature(await receiptsKey.sign(Buffer.from(input))).toString('base64url')}`;
    expect(() => verifyEvidence(evidence([resigned]))).toThrow(/the payload is not RFC 8785 canonical JSON/);
    const hs = Buffer.from(canonicalJson({ alg: 'HS256', kid: 'x', typ: 'compliance-receipt+jws' })).toString('base64url');
    expect(() => verifyEvidence(evidence([`${hs}.${payload}.AAAA`]))).toThrow(/the JWS algorithm is "HS256"; only ES256 is accepted/);
  });

  it('a tampered inclusion proof', () => {
    const proof = log.tree.inclusionProof(3, 6);
    proof[0] = Buffer.alloc(32, 9);
    expect(() => verifyEvidence(evidence([log.jwss[3]], { inclusionProofs: [{ source: 'x.tlog-proof', proof: { index: 3, inclusion: proof, checkpoint: checkpoint6 } }] })))
      .toThrow(/^x\.tlog-proof: the inclusion proof for index 3 leads to root .*, not the checkpoint's /);
  });

  it('the CLI prints "invalid: <reason>" and exits 1; a valid pack exits 0 with one line', async () => {
    const folder = await writeFolder(join(dir, 'cli'), log.jwss, checkpoint6);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      process.exitCode = undefined;
      await verifyCommand().exitOverride().parseAsync([folder, '--public-key', jwksFile], { from: 'user' });
      expect(process.exitCode).toBeUndefined();
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toMatch(/^valid: 6 receipts .*\n$/);
      const first = (await readdir(join(folder, 'receipts'))).sort()[0];
      await writeFile(join(folder, 'receipts', first), (await readFile(join(folder, 'receipts', first), 'utf8')).replace(/\.(.)/, (_m, c: string) => `.${c === 'e' ? 'f' : 'e'}`));
      await verifyCommand().exitOverride().parseAsync([folder, '--public-key', jwksFile], { from: 'user' });
      expect(process.exitCode).toBe(1);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/^invalid: receipts\/000000000000-.*\.jws: /);
    } finally {
      process.exitCode = undefined;
      out.mockRestore();
      err.mockRestore();
    }
  });
});
