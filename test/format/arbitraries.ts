// fast-check generators and expectations shared by the format tests: random record batches (nulls, empty
// buffers, headers, out-of-order timestamps, every codec) and what decoding them must give back.
// Test support only; it must not be imported by src/.

import fc from 'fast-check';
import type { BatchInput, DecodedRecord, RecordHeader, RecordInput } from '../../src/format/index.ts';
import { COMPRESSION_TYPES } from '../../src/format/index.ts';

const TWO_POW_52 = 2n ** 52n;

export const bytesArb: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u));
export const nullableBytesArb: fc.Arbitrary<Buffer | null> = fc.option(bytesArb, { nil: null, freq: 4 });

export const headerArb: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.string({ unit: 'binary', maxLength: 12 }),
  value: nullableBytesArb,
});

/**
 * Timestamps near "now" (small deltas, both signs) or anywhere in (-2^52, 2^52] (deltas that need 5..8 bytes;
 * any two differ by at most 2^53 - 1, the largest delta a batch can hold exactly).
 */
export const timestampArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1_700_000_000_000 - 100_000, max: 1_700_000_000_000 + 100_000 }),
  fc.constant(-1),
  fc.bigInt({ min: -TWO_POW_52 + 1n, max: TWO_POW_52 }).map(Number),
);

export const recordArb: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: nullableBytesArb,
    value: nullableBytesArb,
    headers: fc.array(headerArb, { maxLength: 4 }),
    timestamp: timestampArb,
  },
  { requiredKeys: ['key', 'value', 'timestamp'] },
);

export const batchArb: fc.Arbitrary<BatchInput> = fc.record(
  {
    baseOffset: fc.bigInt({ min: 0n, max: 2n ** 52n }).map(Number),
    partitionLeaderEpoch: fc.integer(),
    records: fc.array(recordArb, { minLength: 1, maxLength: 12 }),
    compression: fc.constantFrom(...COMPRESSION_TYPES),
    timestampType: fc.constantFrom('create' as const, 'log-append' as const),
    producerId: fc.oneof(fc.constant(-1), fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }).map(Number)),
    producerEpoch: fc.integer({ min: -0x8000, max: 0x7fff }),
    baseSequence: fc.integer(),
    isTransactional: fc.boolean(),
    isControl: fc.boolean(),
  },
  { requiredKeys: ['baseOffset', 'records'] },
);

export function maxTimestamp(records: readonly RecordInput[]): number {
  return Math.max(...records.map((r) => r.timestamp));
}

/** What decodeRecords must return for a batch encoded from `input`. */
export function expectedRecords(input: BatchInput): DecodedRecord[] {
  const max = maxTimestamp(input.records);
  return input.records.map((r, i) => ({
    offset: input.baseOffset + i,
    timestamp: input.timestampType === 'log-append' ? max : r.timestamp,
    key: r.key,
    value: r.value,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })),
    attributes: 0,
  }));
}
