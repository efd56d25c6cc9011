import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { badInput } from '../errors';
import { Allow } from '../http/access';
import { ConsistencyProofSchema, ReceiptProofSchema } from '../http/dto/receipts.dto';
import { openApiSchema } from '../http/zod-body';
import { ReceiptProof, ReceiptsService } from './receipts.service';
import { ConsistencyProof } from './transparency-log';

const ReceiptId = z.uuid();
const treeSize = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ConsistencyQuery = z.strictObject({ from: treeSize, to: treeSize.optional() });

/** The log, for operators and auditors: checkpoints and proofs, all verifiable offline. */
@ApiTags('transparency')
@Controller('v1/transparency')
@Allow('operator', 'auditor')
export class TransparencyController {
  constructor(private readonly receipts: ReceiptsService) {}

  /** Plain text, byte for byte the signed note: that is what checkpoint verifiers take. */
  @Get('checkpoint')
  @Header('content-type', 'text/plain; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'the latest checkpoint, a C2SP tlog-checkpoint signed note',
    schema: { type: 'string', example: 'compliance-ops.local/receipts\n2\nnztcLNUvjbzs+kTv93oetkfZOnwXh1/WvpsHTHGkGs4=\n\n— compliance-ops.local/receipts t4800DBGAiEAkyDLSNt1DAe7OlarKMBrjBo2JZ5aFuV…\n' },
  })
  async checkpoint(): Promise<string> {
    return (await this.receipts.log.latestCheckpoint()).note;
  }

  @Get('proof/:receiptId')
  @ApiOkResponse({ description: 'the receipt, its index, a c2sp.org/tlog-proof@v1 inclusion proof and the checkpoint', schema: openApiSchema(ReceiptProofSchema, 'output') })
  async proof(@Param('receiptId') receiptId: string): Promise<ReceiptProof> {
    if (!ReceiptId.safeParse(receiptId).success) throw badInput('invalid_receipt_id', 'a receipt id is a UUID');
    return this.receipts.proof(receiptId);
  }

  @Get('consistency')
  @ApiQuery({ name: 'from', required: true, description: 'the older tree size', schema: { type: 'integer', minimum: 0 } })
  @ApiQuery({ name: 'to', required: false, description: 'the newer tree size (default: the latest checkpoint)', schema: { type: 'integer', minimum: 0 } })
  @ApiOkResponse({ description: 'an RFC 9162 consistency proof between two tree sizes, with both checkpoints when signed', schema: openApiSchema(ConsistencyProofSchema, 'output') })
  async consistency(@Query() query: unknown): Promise<ConsistencyProof> {
    const parsed = ConsistencyQuery.safeParse(query);
    if (!parsed.success) throw badInput('invalid_tree_sizes', 'from (and optionally to) are tree sizes: whole numbers ≥ 0');
    return this.receipts.log.consistencyProof(parsed.data.from, parsed.data.to);
  }
}
