import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TlogProofError, parseTlogProof, TLOG_PROOF_HEADER } from '../tlog-proof';
import { readEvidenceFile, VerificationError } from './verification-error';
import { Evidence, InclusionProofInput } from './verify-evidence';

/**
 * Turns what the auditor has on disk into `Evidence`:
 *   - a `.jws` file (the compact JWS), or a `.json` file with a `jws` member
 *     (what `GET /v1/receipts/{id}` answers);
 *   - a folder (what `compliance-ops receipts export` writes): every `*.jws`
 *     under it, every `*.tlog-proof`, and a top-level `checkpoint`.
 * Its `jwks.json` is not read: keys come from --public-key only.
 */
export interface EvidenceOptions {
  checkpoint?: string;
  oldCheckpoint?: string;
  proof?: string;
}

export async function readEvidence(target: string, options: EvidenceOptions): Promise<Omit<Evidence, 'keys'>> {
  const info = await stat(target).catch(() => {
    throw new VerificationError(`${target}: no such file or folder`);
  });
  const evidence: Omit<Evidence, 'keys'> = { receipts: [], inclusionProofs: [] };
  if (info.isDirectory()) await readFolder(target, evidence);
  else evidence.receipts.push(await readReceiptFile(target));
  if (options.checkpoint) evidence.checkpoint = { source: options.checkpoint, note: await readEvidenceFile(options.checkpoint) };
  if (options.oldCheckpoint) evidence.oldCheckpoint = { source: options.oldCheckpoint, note: await readEvidenceFile(options.oldCheckpoint) };
  if (options.proof) await readProofOption(options.proof, evidence);
  return evidence;
}

async function readFolder(folder: string, evidence: Omit<Evidence, 'keys'>): Promise<void> {
  for (const path of (await walk(folder)).sort()) {
    const name = relative(folder, path);
    if (path.endsWith('.jws')) evidence.receipts.push({ source: name, jws: await readEvidenceFile(path) });
    else if (path.endsWith('.tlog-proof')) evidence.inclusionProofs!.push(inclusionProof(name, await readEvidenceFile(path)));
    else if (name === 'checkpoint') evidence.checkpoint = { source: name, note: await readEvidenceFile(path) };
  }
}

async function walk(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? walk(path) : Promise.resolve(entry.isFile() ? [path] : []);
  }));
  return nested.flat();
}

async function readReceiptFile(path: string): Promise<{ source: string; jws: string }> {
  const text = (await readEvidenceFile(path)).trim();
  if (!text.startsWith('{')) return { source: path, jws: text };
  const json = parseJson(text, path) as { jws?: unknown };
  if (typeof json.jws !== 'string') throw new VerificationError(`${path}: a JSON receipt file needs a "jws" member (as GET /v1/receipts/{id} answers)`);
  return { source: path, jws: json.jws };
}

/** --proof: a tlog-proof (inclusion), the proof endpoint's JSON, or the consistency endpoint's JSON. */
async function readProofOption(path: string, evidence: Omit<Evidence, 'keys'>): Promise<void> {
  const text = await readEvidenceFile(path);
  if (text.startsWith(TLOG_PROOF_HEADER)) {
    evidence.inclusionProofs!.push(inclusionProof(path, text));
    return;
  }
  const json = parseJson(text, path) as { tlogProof?: unknown; from?: unknown; to?: unknown; proof?: unknown };
  if (typeof json.tlogProof === 'string') {
    evidence.inclusionProofs!.push(inclusionProof(path, json.tlogProof));
  } else if (Number.isSafeInteger(json.from) && Number.isSafeInteger(json.to) && Array.isArray(json.proof)) {
    evidence.consistencyProof = {
      source: path, from: json.from as number, to: json.to as number,
      proof: (json.proof as unknown[]).map((hash) => Buffer.from(String(hash), 'base64')),
    };
  } else {
    throw new VerificationError(`${path}: neither a ${TLOG_PROOF_HEADER} file nor a proof from the transparency API`);
  }
}

function inclusionProof(source: string, text: string): InclusionProofInput {
  try {
    return { source, proof: parseTlogProof(text) };
  } catch (error) {
    if (error instanceof TlogProofError) throw new VerificationError(`${source}: ${error.message}`);
    throw error;
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new VerificationError(`${source}: not valid JSON`);
  }
}

