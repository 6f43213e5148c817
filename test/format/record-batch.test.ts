// Tests of the RecordBatch v2 codec: a hand-derived byte vector, property round trips for every codec
// (nulls vs empties, headers, out-of-order timestamps), header fields, sizes, in-place broker edits and
// the CORRUPT_BATCH / INVALID_ARGUMENT cases.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OnelogError } from '../../src/errors.ts';
import {
  ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET, CRC_OFFSET, LAST_OFFSET_DELTA_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET, PARTITION_LEADER_EPOCH_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET, RECORDS_OFFSET, BASE_TIMESTAMP_OFFSET, batchTotalSize, crc32c, decodeRecords, encodeBatch, scanRecordKeys,
  encodedBatchSize, readBatchHeader, setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch, verifyBatchCrc,
  type BatchInput,
} from '../../src/format/index.ts';
import { batchArb, expectedRecords, maxTimestamp } from './arbitraries.ts';

const T0 = 1_700_000_000_000;

/** baseOffset 0, one record key "k" value "v" at T0, no compression, defaults elsewhere; derived by hand from the spec. */
const ONE_RECORD_HEX =
  '0000000000000000' + // baseOffset
  '0000003a' + // batchLength 58 = 70 - 12
  '00000000' + // partitionLeaderEpoch
  '02' + // magic
  'e99b8dd8' + // CRC-32C of everything from attributes on (computed bit by bit)
  '0000' + // attributes: no compression, create time
  '00000000' + // lastOffsetDelta
  '0000018bcfe56800' + // baseTimestamp 1700000000000
  '0000018bcfe56800' + // maxTimestamp
  'ffffffffffffffff' + // producerId -1
  'ffff' + // producerEpoch -1
  'ffffffff' + // baseSequence -1
  '00000001' + // recordCount
  '10' + // record length 8 (zigzag 16)
  '00' + // record attributes
  '00' + // timestampDelta 0
  '00' + // offsetDelta 0
  '02' + '6b' + // key length 1, "k"
  '02' + '76' + // value length 1, "v"
  '00'; // no headers

function isCode(code: string, position?: number): (err: unknown) => boolean {
  return (err: unknown) => err instanceof OnelogError && err.code === code && (position === undefined || err.position === position);
}

function simpleBatch(overrides: Partial<BatchInput> = {}): BatchInput {
  return {
    baseOffset: 100,
    records: [
      { key: Buffer.from('a'), value: Buffer.from('one'), timestamp: T0 + 5 },
      { key: null, value: Buffer.alloc(0), timestamp: T0, headers: [{ key: 'h', value: null }, { key: 'é', value: Buffer.from('x') }] },
      { key: Buffer.alloc(0), value: null, timestamp: T0 + 9 },
    ],
    ...overrides,
  };
}

/** Rewrites the CRC so a deliberately altered batch gets past the checksum to the record parser. */
function fixCrc(buf: Buffer, position = 0): void {
  buf.writeUInt32BE(crc32c(buf, position + ATTRIBUTES_OFFSET, position + LOG_OVERHEAD + buf.readInt32BE(position + LENGTH_OFFSET)), position + CRC_OFFSET);
}

void describe('record batch layout', () => {
  void it('places fields at the offsets of Kafka DefaultRecordBatch', () => {
    assert.deepEqual(
      [LENGTH_OFFSET, PARTITION_LEADER_EPOCH_OFFSET, MAGIC_OFFSET, CRC_OFFSET, ATTRIBUTES_OFFSET, LAST_OFFSET_DELTA_OFFSET, BASE_TIMESTAMP_OFFSET,
        MAX_TIMESTAMP_OFFSET, PRODUCER_ID_OFFSET, PRODUCER_EPOCH_OFFSET, BASE_SEQUENCE_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET],
      [8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61],
    );
    assert.equal(RECORD_BATCH_OVERHEAD, 61);
    assert.equal(LOG_OVERHEAD, 12);
  });

  void it('encodes the hand-checked one-record batch byte for byte', () => {
    const input: BatchInput = { baseOffset: 0, records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: T0 }] };
    const buf = encodeBatch(input);
    assert.equal(buf.toString('hex'), ONE_RECORD_HEX);
    assert.equal(encodedBatchSize(input), 70);
    assert.equal(batchTotalSize(buf), 70);
    assert.equal(verifyBatchCrc(buf), true);
    assert.deepEqual(decodeRecords(Buffer.from(ONE_RECORD_HEX, 'hex')), [
      { offset: 0, timestamp: T0, key: Buffer.from('k'), value: Buffer.from('v'), headers: [], attributes: 0 },
    ]);
  });
});

void describe('record batch round trip', () => {
  void it('decodes what it encodes, for every codec and flag', () => {
    fc.assert(
      fc.property(batchArb, (input) => {
        assert.deepEqual(decodeRecords(encodeBatch(input)), expectedRecords(input));
      }),
      { numRuns: 400 },
    );
  });

  void it('scanRecordKeys hands over the keys, offsets, timestamps and null values that decodeRecords reads', () => {
    fc.assert(
      fc.property(batchArb, (input) => {
        const buf = encodeBatch(input);
        const scanned: { offset: number; timestamp: number; key: Buffer | null; valueIsNull: boolean }[] = [];
        scanRecordKeys(buf, 0, {
          record(offset, timestamp, data, keyStart, keyLength, valueIsNull) {
            scanned.push({ offset, timestamp, key: keyLength < 0 ? null : Buffer.from(data.subarray(keyStart, keyStart + keyLength)), valueIsNull });
          },
        });
        const decoded = decodeRecords(buf).map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key === null ? null : Buffer.from(r.key), valueIsNull: r.value === null }));
        assert.deepEqual(scanned, decoded);
      }),
      { numRuns: 200 },
    );
  });

  void it('round-trips every header field', () => {
    fc.assert(
      fc.property(batchArb, (input) => {
        const buf = encodeBatch(input);
        const compression = input.compression ?? 'none';
        const codecId = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(compression);
        const timestampType = input.timestampType ?? 'create';
        const attributes = codecId | (timestampType === 'log-append' ? 8 : 0) | (input.isTransactional === true ? 16 : 0) | (input.isControl === true ? 32 : 0);
        assert.deepEqual(readBatchHeader(buf), {
          baseOffset: input.baseOffset,
          batchLength: buf.length - LOG_OVERHEAD,
          partitionLeaderEpoch: input.partitionLeaderEpoch ?? 0,
          magic: 2,
          crc: crc32c(buf, ATTRIBUTES_OFFSET),
          attributes,
          compression,
          timestampType,
          isTransactional: input.isTransactional === true,
          isControl: input.isControl === true,
          lastOffsetDelta: input.records.length - 1,
          baseTimestamp: input.records[0]!.timestamp,
          maxTimestamp: maxTimestamp(input.records),
          producerId: input.producerId ?? -1,
          producerEpoch: input.producerEpoch ?? -1,
          baseSequence: input.baseSequence ?? -1,
          recordCount: input.records.length,
        });
        assert.equal(batchTotalSize(buf), buf.length);
        assert.equal(verifyBatchCrc(buf), true);
      }),
      { numRuns: 300 },
    );
  });

  void it('has exactly encodedBatchSize bytes when uncompressed', () => {
    fc.assert(
      fc.property(batchArb, (input) => {
        const plain = { ...input, compression: 'none' as const };
        assert.equal(encodeBatch(plain).length, encodedBatchSize(plain));
      }),
      { numRuns: 300 },
    );
  });

  void it('leaves each batch it returned intact while later ones are encoded, batches larger than its slabs included', () => {
    const large = (count: number, valueBytes: number): BatchInput => ({
      baseOffset: 0,
      records: Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, i), timestamp: T0 + i })),
    });
    // 200 KB crosses the end of a 256 KiB slab; 300 KB and 600 KB do not fit one.
    const largeArb = fc.constantFrom(large(40, 5000), large(3, 100_000), large(1, 600_000));
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: batchArb }, { weight: 1, arbitrary: largeArb }), { minLength: 1, maxLength: 30 }), (inputs) => {
        const encoded = inputs.map((input) => {
          const buf = encodeBatch(input);
          return { buf, copy: Buffer.from(buf) };
        });
        for (const [i, { buf, copy }] of encoded.entries()) {
          assert.equal(buf.equals(copy), true, `batch ${i} changed after later encodes`);
          assert.deepEqual(decodeRecords(buf), expectedRecords(inputs[i]!));
        }
      }),
      { numRuns: 40 },
    );
  });

  void it('decodes a batch in the middle of a larger buffer, returning views into it', () => {
    const first = encodeBatch(simpleBatch());
    const second = encodeBatch(simpleBatch({ baseOffset: 103 }));
    const file = Buffer.concat([Buffer.from('junk'), first, second]);
    const position = 4 + first.length;
    assert.equal(batchTotalSize(file, 4), first.length);
    const records = decodeRecords(file, position);
    assert.deepEqual(records.map((r) => r.offset), [103, 104, 105]);
    assert.equal(records[0]!.key!.buffer, file.buffer, 'key is a view, not a copy');
    assert.equal(records[0]!.value!.byteOffset > file.byteOffset + position, true);
    assert.deepEqual(decodeRecords(new Uint8Array(file.buffer, file.byteOffset, file.length), position), records);
  });

  void it('keeps null distinct from empty for keys, values and header values', () => {
    const [a, b, c] = decodeRecords(encodeBatch(simpleBatch()));
    assert.deepEqual([a!.key, a!.value], [Buffer.from('a'), Buffer.from('one')]);
    assert.deepEqual([b!.key, b!.value], [null, Buffer.alloc(0)]);
    assert.deepEqual(b!.headers, [{ key: 'h', value: null }, { key: 'é', value: Buffer.from('x') }]);
    assert.deepEqual([c!.key, c!.value], [Buffer.alloc(0), null]);
  });

  void it('sets baseTimestamp to the first record and maxTimestamp to the largest, with negative deltas', () => {
    const header = readBatchHeader(encodeBatch(simpleBatch({ records: [{ key: null, value: null, timestamp: T0 }, { key: null, value: null, timestamp: T0 - 50 }] })));
    assert.equal(header.baseTimestamp, T0);
    assert.equal(header.maxTimestamp, T0);
  });
});

void describe('record batch in-place edits', () => {
  void it('sets baseOffset and partitionLeaderEpoch without touching the CRC', () => {
    const buf = encodeBatch(simpleBatch());
    const crc = buf.readUInt32BE(CRC_OFFSET);
    setBaseOffset(buf, 0, 2 ** 40);
    setPartitionLeaderEpoch(buf, 0, 17);
    assert.equal(buf.readUInt32BE(CRC_OFFSET), crc);
    const header = readBatchHeader(buf);
    assert.equal(header.baseOffset, 2 ** 40);
    assert.equal(header.partitionLeaderEpoch, 17);
    assert.deepEqual(decodeRecords(buf).map((r) => r.offset), [2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2]);
  });

  void it('stamps log-append time: attribute bit, maxTimestamp, fresh CRC, every record reports it', () => {
    for (const compression of ['none', 'zstd'] as const) {
      const buf = encodeBatch(simpleBatch({ compression }));
      setLogAppendTime(buf, 0, T0 + 1000);
      const header = readBatchHeader(buf);
      assert.equal(header.timestampType, 'log-append');
      assert.equal(header.maxTimestamp, T0 + 1000);
      assert.equal(header.baseTimestamp, T0 + 5);
      assert.equal(header.compression, compression);
      assert.equal(verifyBatchCrc(buf), true);
      assert.deepEqual(decodeRecords(buf).map((r) => r.timestamp), [T0 + 1000, T0 + 1000, T0 + 1000]);
    }
  });

  void it('refuses bad arguments with INVALID_ARGUMENT', () => {
    const buf = encodeBatch(simpleBatch());
    assert.throws(() => setBaseOffset(buf, 0, -1), isCode('INVALID_ARGUMENT'));
    assert.throws(() => setBaseOffset(buf, buf.length - 10, 1), isCode('INVALID_ARGUMENT'));
    assert.throws(() => setPartitionLeaderEpoch(buf, 0, 2 ** 31), isCode('INVALID_ARGUMENT'));
    assert.throws(() => setLogAppendTime(buf, 0, 1.5), isCode('INVALID_ARGUMENT'));
    assert.throws(() => readBatchHeader(buf, -1), isCode('INVALID_ARGUMENT'));
  });
});

void describe('record batch validation', () => {
  void it('refuses to encode an empty batch or out-of-range fields', () => {
    assert.throws(() => encodeBatch({ baseOffset: 0, records: [] }), isCode('INVALID_ARGUMENT'));
    assert.throws(() => encodedBatchSize({ baseOffset: 0, records: [] }), isCode('INVALID_ARGUMENT'));
    const bad: Partial<BatchInput>[] = [
      { baseOffset: -1 }, { baseOffset: 0.5 }, { baseOffset: Number.MAX_SAFE_INTEGER }, { partitionLeaderEpoch: 2 ** 31 },
      { producerId: 2 ** 53 }, { producerEpoch: 0x8000 }, { baseSequence: -(2 ** 31) - 1 },
      { records: [{ key: null, value: null, timestamp: Number.NaN }] },
      { records: [{ key: null, value: null, timestamp: 0 }, { key: null, value: null, timestamp: 0.5 }] },
      { records: [{ key: null, value: null, timestamp: -(2 ** 52) - 10 }, { key: null, value: null, timestamp: 2 ** 52 + 10 }] },
    ];
    for (const overrides of bad) assert.throws(() => encodeBatch(simpleBatch(overrides)), isCode('INVALID_ARGUMENT'), JSON.stringify(overrides));
  });

  void it('reports short buffers, wrong magic and impossible lengths as CORRUPT_BATCH with the position', () => {
    const buf = Buffer.concat([Buffer.alloc(3), encodeBatch(simpleBatch())]);
    assert.throws(() => readBatchHeader(buf.subarray(0, 3 + 60), 3), isCode('CORRUPT_BATCH', 3));
    assert.equal(batchTotalSize(buf.subarray(0, 3 + 11), 3), -1);
    const wrongMagic = Buffer.from(buf);
    wrongMagic[3 + MAGIC_OFFSET] = 1;
    assert.throws(() => readBatchHeader(wrongMagic, 3), isCode('CORRUPT_BATCH', 3));
    const tooShort = Buffer.from(buf);
    tooShort.writeInt32BE(48, 3 + LENGTH_OFFSET);
    assert.throws(() => readBatchHeader(tooShort, 3), isCode('CORRUPT_BATCH', 3));
    assert.equal(batchTotalSize(tooShort, 3), LOG_OVERHEAD + 48, 'batchTotalSize reports the field as it is');
    const tooLong = Buffer.from(buf);
    tooLong.writeInt32BE(tooLong.length, 3 + LENGTH_OFFSET);
    assert.throws(() => decodeRecords(tooLong, 3), isCode('CORRUPT_BATCH', 3));
    assert.equal(verifyBatchCrc(tooLong, 3), false);
    assert.equal(verifyBatchCrc(tooShort, 3), false);
    assert.equal(verifyBatchCrc(buf.subarray(0, 3 + 60), 3), false);
  });

  void it('refuses unsafe int64 fields and codec ids 5..7', () => {
    const buf = encodeBatch(simpleBatch());
    const unsafe = Buffer.from(buf);
    unsafe.writeInt32BE(0x7fffffff, MAX_TIMESTAMP_OFFSET);
    assert.throws(() => readBatchHeader(unsafe), isCode('CORRUPT_BATCH', 0));
    const codec = Buffer.from(buf);
    codec.writeInt16BE(6, ATTRIBUTES_OFFSET);
    assert.throws(() => readBatchHeader(codec), isCode('UNSUPPORTED_COMPRESSION', 0));
  });

  void it('verifies the CRC before decoding', () => {
    const buf = encodeBatch(simpleBatch());
    buf[buf.length - 2]! ^= 1;
    assert.equal(verifyBatchCrc(buf), false);
    assert.throws(() => decodeRecords(buf), isCode('CORRUPT_BATCH', 0));
  });

  void it('refuses record counts and record lengths that disagree with the bytes', () => {
    const base = encodeBatch(simpleBatch());
    const moreRecords = Buffer.from(base);
    moreRecords.writeInt32BE(4, RECORDS_COUNT_OFFSET);
    fixCrc(moreRecords);
    assert.throws(() => decodeRecords(moreRecords), isCode('CORRUPT_BATCH', 0));
    const fewerRecords = Buffer.from(base);
    fewerRecords.writeInt32BE(2, RECORDS_COUNT_OFFSET);
    fixCrc(fewerRecords);
    assert.throws(() => decodeRecords(fewerRecords), isCode('CORRUPT_BATCH', 0));
    const negative = Buffer.from(base);
    negative.writeInt32BE(-1, RECORDS_COUNT_OFFSET);
    fixCrc(negative);
    assert.throws(() => decodeRecords(negative), isCode('CORRUPT_BATCH', 0));
    const recordLength = Buffer.from(base);
    recordLength[RECORDS_OFFSET] = recordLength[RECORDS_OFFSET]! + 2; // first record claims one more byte
    fixCrc(recordLength);
    assert.throws(() => decodeRecords(recordLength), isCode('CORRUPT_BATCH', 0));
    const offsetDelta = Buffer.from(base);
    offsetDelta.writeInt32BE(0, LAST_OFFSET_DELTA_OFFSET); // records carry deltas 1 and 2
    fixCrc(offsetDelta);
    assert.throws(() => decodeRecords(offsetDelta), isCode('CORRUPT_BATCH', 0));
  });

  void it('decodes an empty batch (as compaction leaves) to no records', () => {
    const buf = encodeBatch(simpleBatch()).subarray(0, RECORDS_OFFSET);
    buf.writeInt32BE(RECORDS_OFFSET - LOG_OVERHEAD, LENGTH_OFFSET);
    buf.writeInt32BE(0, RECORDS_COUNT_OFFSET);
    fixCrc(buf);
    assert.deepEqual(decodeRecords(buf), []);
  });
});
