import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReceiptsService } from './receipts.service';
import { proofFor } from './transparency-log';

/** How many receipts to read per catalog query. */
const PAGE_SIZE = 500;

export interface ExportSummary {
  receipts: number;
  treeSize: number;
  folder: string;
}

/** `000000000042-<receipt id>`: sorts in log order, and says which receipt it is. */
export const evidenceName = (index: number, receiptId: string) => `${String(index).padStart(12, '0')}-${receiptId}`;

/**
 * The audit pack: the whole log up to one checkpoint, so an auditor can
 * verify it offline with `compliance-ops verify <folder> --public-key …`.
 *
 *   checkpoint                       the signed C2SP checkpoint
 *   jwks.json                        both public keys (check them out of band!)
 *   receipts/<name>.jws              every receipt, index 0 … size-1
 *   proofs/<name>.tlog-proof         each receipt's inclusion proof on its own
 *   HOW-TO-VERIFY.txt                the commands, for whoever receives the pack
 *
 * Receipts appended while the pack is written are left for the next pack:
 * everything in it is against the one checkpoint.
 */
export async function exportReceipts(service: ReceiptsService, folder: string): Promise<ExportSummary> {
  const { tree, checkpoint } = await service.log.snapshot();
  await mkdir(join(folder, 'receipts'), { recursive: true });
  await mkdir(join(folder, 'proofs'), { recursive: true });
  await writeFile(join(folder, 'checkpoint'), checkpoint.note);
  await writeFile(join(folder, 'jwks.json'), `${JSON.stringify(await service.jwks(), null, 2)}\n`);
  await writeFile(join(folder, 'HOW-TO-VERIFY.txt'), HOW_TO_VERIFY);
  let written = 0;
  for (let after = -1; written < checkpoint.size;) {
    const page = (await service.list({ afterIndex: after, limit: PAGE_SIZE })).filter((r) => r.logIndex < checkpoint.size);
    if (page.length === 0) break;
    for (const receipt of page) {
      const name = evidenceName(receipt.logIndex, receipt.receiptId);
      // No trailing newline: the file's bytes are the JWS, so `sha256sum` gives its digest.
      await writeFile(join(folder, 'receipts', `${name}.jws`), receipt.jws);
      await writeFile(join(folder, 'proofs', `${name}.tlog-proof`), proofFor(tree, checkpoint, receipt.logIndex).tlogProof);
      written++;
    }
    after = page[page.length - 1].logIndex;
  }
  if (written !== checkpoint.size) throw new Error(`exported ${written} receipts, but the checkpoint covers ${checkpoint.size}`);
  return { receipts: written, treeSize: checkpoint.size, folder };
}

const HOW_TO_VERIFY = `Receipts of compliance-ops: signed evidence of erasures and retention purges.

Get the public keys out of band (not from this folder): the operator's JWKS,
or PEM files from \`aws kms get-public-key\`. Then:

  compliance-ops verify . --public-key <jwks.json or pem> [--public-key <pem>]
    checks every signature (ES256), the canonical JSON form (RFC 8785), the
    chain (each receipt names its predecessor's SHA-256), that the receipts
    hash to the root in ./checkpoint (RFC 6962 Merkle tree, C2SP signed note),
    and with --old-checkpoint <file> that the log only grew since then.

One receipt by hand with openssl (pub.pem = the receipts key):
  IFS=. read -r H P S < <(cat receipts/<name>.jws; echo)
  b64url() { s=$(printf %s "$1" | tr '_-' '/+'); while (( \${#s} % 4 )); do s="$s="; done; printf %s "$s" | base64 -d; }
  printf '%s.%s' "$H" "$P" > signing_input.bin
  b64url "$S" > sig.raw
  printf 'asn1=SEQUENCE:sig\\n[sig]\\nr=INTEGER:0x%s\\ns=INTEGER:0x%s\\n' \\
    "$(xxd -p -l 32 sig.raw | tr -d '\\n')" "$(xxd -p -s 32 -l 32 sig.raw | tr -d '\\n')" > sig.cnf
  openssl asn1parse -genconf sig.cnf -out sig.der -noout
  openssl dgst -sha256 -verify pub.pem -signature sig.der signing_input.bin
  b64url "$P"            # the receipt itself
  sha256sum receipts/<name>.jws   # the digest the next receipt names as "previous"
`;
