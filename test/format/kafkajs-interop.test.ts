// Interoperability with an independent implementation: batches built by kafkajs's own RecordBatch and
// Record encoders decode with ours, and ours decode with kafkajs's decoder (none and gzip, the codecs
// kafkajs ships). Uncompressed batches must be byte-identical.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRecords, encodeBatch, readBatchHeader, type BatchInput, type RecordHeader } from '../../src/format/index.ts';
import { expectedRecords, headerArb, maxTimestamp, nullableBytesArb, timestampArb } from './arbitraries.ts';

interface KafkajsLong {
  toString(): string;
}
interface KafkajsEncoder {
  readonly buffer: Buffer;
}
type KafkajsHeaders = Record<string, Buffer | null>;
interface KafkajsRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkajsHeaders;
}
interface KafkajsBatchInput {
  compression: number;
  firstOffset: KafkajsLong;
  firstTimestamp: number;
  maxTimestamp: number;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  transactional: boolean;
  producerId: KafkajsLong;
  producerEpoch: number;
  firstSequence: number;
  records: KafkajsEncoder[];
}
interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkajsHeaders;
}
interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  records: KafkajsDecodedRecord[];
}

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (input: KafkajsBatchInput) => Promise<KafkajsEncoder> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (input: KafkajsRecordInput) => KafkajsEncoder;
const decodeKafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: object) => Promise<KafkajsDecodedBatch>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => object;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: number): KafkajsLong };

/** Batches both libraries can express: create time, no control flag, unique header keys, none or gzip. */
const interopBatchArb: fc.Arbitrary<BatchInput> = fc.record({
  baseOffset: fc.bigInt({ min: 0n, max: 2n ** 52n }).map(Number),
  partitionLeaderEpoch: fc.integer(),
  records: fc.array(
    fc.record({
      key: nullableBytesArb,
      value: nullableBytesArb,
      // kafkajs folds headers into a plain object, so names like "toString" or "__proto__" break its decoder.
      headers: fc.uniqueArray(headerArb.filter((h) => !(h.key in Object.prototype)), { selector: (h) => h.key, maxLength: 4 }),
      timestamp: timestampArb,
    }),
    { minLength: 1, maxLength: 10 },
  ),
  compression: fc.constantFrom('none' as const, 'gzip' as const),
  producerId: fc.oneof(fc.constant(-1), fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }).map(Number)),
  producerEpoch: fc.integer({ min: -0x8000, max: 0x7fff }),
  baseSequence: fc.integer(),
  isTransactional: fc.boolean(),
});

function toKafkajsHeaders(headers: readonly RecordHeader[] | undefined): KafkajsHeaders {
  const out: KafkajsHeaders = {};
  for (const h of headers ?? []) out[h.key] = h.value;
  return out;
}

async function encodeWithKafkajs(input: BatchInput): Promise<Buffer> {
  const first = input.records[0]!.timestamp;
  const encoder = await RecordBatch({
    compression: input.compression === 'gzip' ? 1 : 0,
    firstOffset: Long.fromValue(input.baseOffset),
    firstTimestamp: first,
    maxTimestamp: maxTimestamp(input.records),
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? 0,
    lastOffsetDelta: input.records.length - 1,
    transactional: input.isTransactional === true,
    producerId: Long.fromValue(input.producerId ?? -1),
    producerEpoch: input.producerEpoch ?? -1,
    firstSequence: input.baseSequence ?? -1,
    records: input.records.map((r, i) =>
      Record({ offsetDelta: i, timestampDelta: r.timestamp - first, key: r.key, value: r.value, headers: toKafkajsHeaders(r.headers) }),
    ),
  });
  return encoder.buffer;
}

/** kafkajs's Record encoder cannot size a null header value (Buffer.byteLength(null) throws). */
function withoutNullHeaderValues(input: BatchInput): BatchInput {
  return {
    ...input,
    records: input.records.map((r) => ({ ...r, headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value ?? Buffer.alloc(0) })) })),
  };
}

void describe('kafkajs interop', () => {
  void it('decodes batches encoded by kafkajs, byte-identical when uncompressed', async () => {
    await fc.assert(
      fc.asyncProperty(interopBatchArb.map(withoutNullHeaderValues), async (input) => {
        const theirs = await encodeWithKafkajs(input);
        assert.deepEqual(decodeRecords(theirs), expectedRecords(input));
        const header = readBatchHeader(theirs);
        assert.equal(header.compression, input.compression);
        assert.equal(header.isTransactional, input.isTransactional);
        if (input.compression === 'none') assert.equal(encodeBatch(input).toString('hex'), theirs.toString('hex'));
      }),
      { numRuns: 200 },
    );
  });

  void it('encodes batches kafkajs decodes to the same records and fields', async () => {
    await fc.assert(
      fc.asyncProperty(interopBatchArb, fc.constantFrom('create' as const, 'log-append' as const), async (input, timestampType) => {
        const batch = await decodeKafkajsBatch(new Decoder(encodeBatch({ ...input, timestampType })));
        const expected = expectedRecords({ ...input, timestampType });
        assert.equal(batch.firstOffset, String(input.baseOffset));
        assert.equal(batch.firstTimestamp, String(input.records[0]!.timestamp));
        assert.equal(batch.maxTimestamp, String(maxTimestamp(input.records)));
        assert.equal(batch.producerId, String(input.producerId ?? -1));
        assert.equal(batch.producerEpoch, input.producerEpoch ?? -1);
        assert.equal(batch.firstSequence, input.baseSequence ?? -1);
        assert.equal(batch.partitionLeaderEpoch, input.partitionLeaderEpoch ?? 0);
        assert.equal(batch.inTransaction, input.isTransactional === true);
        assert.deepEqual(
          batch.records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: { ...r.headers } })),
          expected.map((r) => ({
            offset: String(r.offset),
            timestamp: String(r.timestamp),
            key: r.key,
            value: r.value,
            headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value])),
          })),
        );
      }),
      { numRuns: 200 },
    );
  });
});
