// Tests of the legacy message sets (magic 0 and 1): hand-written byte vectors, round trips through down-
// and up-conversion, compressed wrappers of every legacy codec (relative magic 1 offsets, log-append time,
// KAFKA-3160 lz4 frames), kafkajs's own legacy encoder and decoder, the CORRUPT_BATCH cases, and fuzzing
// that may only raise OnelogError. Test code only.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { crc32 } from '@node-rs/crc32';
import fc from 'fast-check';
import { OnelogError } from '../../src/errors.ts';
import {
  MAX_LEGACY_DECOMPRESSED_SIZE, compress, compressionCodecId, decodeLegacyMessageSet, decodeRecords, encodeBatch, isLegacyMessageSet,
  legacyToRecordBatch, readBatchHeader, recordBatchesToLegacy, type BatchInput, type CompressionType, type LegacyMagic, type LegacyMessage,
} from '../../src/format/index.ts';
import { batchArb, expectedRecords, nullableBytesArb, timestampArb } from './arbitraries.ts';

const T0 = 1_700_000_000_000;

interface TestMessage {
  readonly offset: number;
  readonly magic: LegacyMagic;
  readonly attributes?: number;
  readonly timestamp?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** An independent writer of one message-set entry, straight from the spec: offset, size, CRC32, body. */
function entry(m: TestMessage): Buffer {
  const field = (bytes: Buffer | null): Buffer => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(bytes === null ? -1 : bytes.length);
    return bytes === null ? length : Buffer.concat([length, bytes]);
  };
  const timestamp = Buffer.alloc(m.magic === 1 ? 8 : 0);
  if (m.magic === 1) timestamp.writeBigInt64BE(BigInt(m.timestamp ?? -1));
  const body = Buffer.concat([Buffer.from([m.magic, m.attributes ?? 0]), timestamp, field(m.key), field(m.value)]);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(BigInt(m.offset), 0);
  head.writeInt32BE(4 + body.length, 8);
  head.writeUInt32BE(crc32(body) >>> 0, 12);
  return Buffer.concat([head, body]);
}

interface WrapperOptions {
  readonly magic: LegacyMagic;
  readonly codec: CompressionType;
  readonly offset: number;
  readonly timestamp?: number;
  readonly logAppendTime?: boolean;
  /** The compressed value as written; defaults to compress(codec, inner). */
  readonly value?: Buffer;
}

function wrapper(inner: Buffer, o: WrapperOptions): Buffer {
  return entry({
    offset: o.offset,
    magic: o.magic,
    attributes: compressionCodecId(o.codec) | (o.logAppendTime === true ? 0x08 : 0),
    timestamp: o.timestamp ?? T0,
    key: null,
    value: o.value ?? compress(o.codec, inner),
  });
}

function isCode(code: string, position?: number): (err: unknown) => boolean {
  return (err: unknown) => err instanceof OnelogError && err.code === code && (position === undefined || err.position === position);
}

/** Positions of the top-level entries of a set whose size fields are intact. */
function entryStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  for (let pos = 0; pos + 12 <= buf.length; ) {
    const size = buf.readInt32BE(pos + 8);
    if (size < 5 || size > buf.length - pos - 12) break;
    starts.push(pos);
    pos += 12 + size;
  }
  return starts;
}

/** Recomputes the CRC of every top-level entry whose size still fits, so parsing goes past it. */
function repairCrcs(buf: Buffer): void {
  for (const pos of entryStarts(buf)) {
    buf.writeUInt32BE(crc32(buf.subarray(pos + 16, pos + 12 + buf.readInt32BE(pos + 8))) >>> 0, pos + 12);
  }
}

/** What decodeLegacyMessageSet must give for the down-converted records of `inputs`. */
function expectedLegacy(inputs: readonly BatchInput[], magic: LegacyMagic): LegacyMessage[] {
  return inputs
    .filter((input) => input.isControl !== true)
    .flatMap((input) =>
      expectedRecords(input).map((r) => ({
        magic,
        offset: r.offset,
        timestamp: magic === 0 ? -1 : r.timestamp,
        timestampType: magic === 0 ? ('create' as const) : (input.timestampType ?? 'create'),
        key: r.key,
        value: r.value,
        compression: 'none' as const,
      })),
    );
}

const magicArb = fc.constantFrom<LegacyMagic>(0, 1);
const batchesArb = fc.array(batchArb, { minLength: 1, maxLength: 4 });

void describe('legacy message set vectors', () => {
  // offset 5, magic 0, no compression, key "k", value "v": written out from the spec.
  const magic0Body = '00' + '00' + '00000001' + '6b' + '00000001' + '76';
  const magic0Hex = '0000000000000005' + '00000010' + (crc32(Buffer.from(magic0Body, 'hex')) >>> 0).toString(16).padStart(8, '0') + magic0Body;
  // offset 7, magic 1, create time T0, null key, value "v".
  const magic1Body = '01' + '00' + '0000018bcfe56800' + 'ffffffff' + '00000001' + '76';
  const magic1Hex = '0000000000000007' + '00000017' + (crc32(Buffer.from(magic1Body, 'hex')) >>> 0).toString(16).padStart(8, '0') + magic1Body;

  void it('decodes a hand-written magic 0 message', () => {
    assert.deepEqual(decodeLegacyMessageSet(Buffer.from(magic0Hex, 'hex')), [
      { magic: 0, offset: 5, timestamp: -1, timestampType: 'create', key: Buffer.from('k'), value: Buffer.from('v'), compression: 'none' },
    ]);
  });

  void it('decodes a hand-written magic 1 message', () => {
    assert.deepEqual(decodeLegacyMessageSet(Buffer.from(magic1Hex, 'hex')), [
      { magic: 1, offset: 7, timestamp: T0, timestampType: 'create', key: null, value: Buffer.from('v'), compression: 'none' },
    ]);
  });

  void it('down-converts to exactly those bytes', () => {
    const k = encodeBatch({ baseOffset: 5, records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: T0, headers: [{ key: 'h', value: null }] }] });
    assert.equal(recordBatchesToLegacy(k, 0).toString('hex'), magic0Hex);
    const v = encodeBatch({ baseOffset: 7, records: [{ key: null, value: Buffer.from('v'), timestamp: T0 }] });
    assert.equal(recordBatchesToLegacy(v, 1).toString('hex'), magic1Hex);
  });

  void it('tells legacy sets from record batches by the byte at position 16', () => {
    assert.equal(isLegacyMessageSet(Buffer.from(magic0Hex, 'hex')), true);
    assert.equal(isLegacyMessageSet(Buffer.from(magic1Hex, 'hex')), true);
    assert.equal(isLegacyMessageSet(encodeBatch({ baseOffset: 0, records: [{ key: null, value: null, timestamp: 0 }] })), false);
    assert.equal(isLegacyMessageSet(Buffer.alloc(16)), false);
    assert.equal(isLegacyMessageSet(Buffer.alloc(0)), false);
  });

  void it('writes log-append time in attribute bit 3 for magic 1, and nothing for magic 0', () => {
    const batch = encodeBatch({ baseOffset: 0, timestampType: 'log-append', records: [{ key: null, value: null, timestamp: T0 }, { key: null, value: null, timestamp: T0 + 3 }] });
    const [first, second] = decodeLegacyMessageSet(recordBatchesToLegacy(batch, 1));
    assert.deepEqual([first?.timestampType, first?.timestamp, second?.timestamp], ['log-append', T0 + 3, T0 + 3]);
    assert.equal(recordBatchesToLegacy(batch, 1)[17], 0x08);
    assert.equal(recordBatchesToLegacy(batch, 0)[17], 0);
  });
});

void describe('legacy conversions', () => {
  void it('down-converted batches decode to their records (offsets, keys, values, timestamps; control batches skipped)', () => {
    fc.assert(
      fc.property(batchesArb, magicArb, (inputs, magic) => {
        const legacy = recordBatchesToLegacy(Buffer.concat(inputs.map((input) => encodeBatch(input))), magic);
        assert.deepEqual(decodeLegacyMessageSet(legacy), expectedLegacy(inputs, magic));
      }),
      { numRuns: 150 },
    );
  });

  void it('up-converting down-converted batches gives one batch of the same records without headers', () => {
    fc.assert(
      fc.property(batchesArb, magicArb, (inputs, magic) => {
        const expected = expectedLegacy(inputs, magic);
        fc.pre(expected.length > 0);
        const batch = legacyToRecordBatch(recordBatchesToLegacy(Buffer.concat(inputs.map((input) => encodeBatch(input))), magic));
        const header = readBatchHeader(batch);
        const logAppendTime = expected.every((m) => m.timestampType === 'log-append');
        const max = Math.max(...expected.map((m) => m.timestamp));
        assert.deepEqual(
          [header.baseOffset, header.compression, header.timestampType, header.producerId, header.recordCount],
          [0, 'none', logAppendTime ? 'log-append' : 'create', -1, expected.length],
        );
        assert.deepEqual(
          decodeRecords(batch),
          expected.map((m, i) => ({ offset: i, timestamp: logAppendTime ? max : m.timestamp, key: m.key, value: m.value, headers: [], attributes: 0 })),
        );
      }),
      { numRuns: 150 },
    );
  });

  void it('ignores a trailing partial message only when asked to', () => {
    fc.assert(
      fc.property(batchesArb, magicArb, fc.nat(), (inputs, magic, cutSeed) => {
        const legacy = recordBatchesToLegacy(Buffer.concat(inputs.map((input) => encodeBatch(input))), magic);
        const all = decodeLegacyMessageSet(legacy);
        const cut = cutSeed % (legacy.length + 1);
        const whole = entryStarts(legacy).filter((start) => start + 12 + legacy.readInt32BE(start + 8) <= cut).length;
        const prefix = legacy.subarray(0, cut);
        assert.deepEqual(decodeLegacyMessageSet(prefix, { allowPartialTail: true }), all.slice(0, whole));
        const atBoundary = cut === legacy.length || entryStarts(legacy).includes(cut);
        if (atBoundary) assert.deepEqual(decodeLegacyMessageSet(prefix), all.slice(0, whole));
        else assert.throws(() => decodeLegacyMessageSet(prefix), isCode('CORRUPT_BATCH'));
      }),
      { numRuns: 150 },
    );
  });
});

const innerArb = fc.array(fc.record({ key: nullableBytesArb, value: nullableBytesArb, timestamp: timestampArb }), { minLength: 1, maxLength: 8 });

void describe('compressed wrappers', () => {
  void it('flatten for every codec and magic, with magic 1 relative offsets made absolute', () => {
    fc.assert(
      fc.property(
        magicArb, fc.constantFrom<CompressionType>('gzip', 'snappy', 'lz4'), innerArb, fc.integer({ min: 0, max: 2 ** 40 }), fc.boolean(),
        (magic, codec, inner, base, logAppendTime) => {
          const last = base + inner.length - 1;
          const innerSet = Buffer.concat(inner.map((m, i) => entry({ offset: magic === 1 ? i : base + i, magic, timestamp: m.timestamp, key: m.key, value: m.value })));
          const before = entry({ offset: base - 1, magic, timestamp: T0, key: Buffer.from('before'), value: null });
          const set = Buffer.concat([before, wrapper(innerSet, { magic, codec, offset: last, timestamp: T0 + 1, logAppendTime })]);
          const appendTime = magic === 1 && logAppendTime;
          const expected: LegacyMessage[] = [
            { magic, offset: base - 1, timestamp: magic === 1 ? T0 : -1, timestampType: 'create', key: Buffer.from('before'), value: null, compression: 'none' },
            ...inner.map((m, i) => ({
              magic,
              offset: base + i,
              timestamp: magic === 0 ? -1 : appendTime ? T0 + 1 : m.timestamp,
              timestampType: appendTime ? ('log-append' as const) : ('create' as const),
              key: m.key,
              value: m.value,
              compression: codec,
            })),
          ];
          assert.deepEqual(decodeLegacyMessageSet(set), expected);

          const batch = legacyToRecordBatch(set);
          assert.equal(readBatchHeader(batch).compression, codec);
          assert.equal(readBatchHeader(batch).timestampType, 'create');
          assert.deepEqual(
            decodeRecords(batch),
            expected.map((m, i) => ({ offset: i, timestamp: m.timestamp, key: m.key, value: m.value, headers: [], attributes: 0 })),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  void it('up-converts a log-append-time wrapper to a log-append batch with the wrapper timestamp', () => {
    const inner = Buffer.concat([0, 1].map((i) => entry({ offset: i, magic: 1, timestamp: T0 + i, key: null, value: Buffer.from([i]) })));
    const batch = legacyToRecordBatch(wrapper(inner, { magic: 1, codec: 'gzip', offset: 1, timestamp: T0 + 50, logAppendTime: true }));
    assert.equal(readBatchHeader(batch).timestampType, 'log-append');
    assert.deepEqual(decodeRecords(batch).map((r) => r.timestamp), [T0 + 50, T0 + 50]);
  });

  void it('takes inner offsets as absolute under a magic 1 wrapper offset of 0, as Kafka does', () => {
    const inner = Buffer.concat([10, 11, 12].map((offset) => entry({ offset, magic: 1, timestamp: T0, key: null, value: null })));
    assert.deepEqual(decodeLegacyMessageSet(wrapper(inner, { magic: 1, codec: 'gzip', offset: 0 })).map((m) => m.offset), [10, 11, 12]);
    assert.deepEqual(decodeLegacyMessageSet(wrapper(inner, { magic: 1, codec: 'gzip', offset: 100 })).map((m) => m.offset), [98, 99, 100]);
  });

  void it('refuses a nonzero magic 1 wrapper offset below its last inner offset, as Kafka does', () => {
    const inner = Buffer.concat([0, 1, 2].map((offset) => entry({ offset, magic: 1, timestamp: T0, key: null, value: null })));
    for (const offset of [-1, 1]) {
      assert.throws(() => decodeLegacyMessageSet(wrapper(inner, { magic: 1, codec: 'gzip', offset })), isCode('CORRUPT_BATCH', 0));
    }
  });

  void it('accepts magic 0 lz4 frames with a wrong header checksum (KAFKA-3160) and refuses them for magic 1', () => {
    const inner = Buffer.concat([0, 1, 2].map((offset) => entry({ offset, magic: 0, key: Buffer.from('key'), value: Buffer.from(`value ${offset}`) })));
    const frame = compress('lz4', inner);
    assert.equal(frame.readUInt32LE(0), 0x184d2204);
    const broken = Buffer.from(frame);
    broken[6] = broken[6]! ^ 0x5a; // FLG, BD, then HC
    // The same frame with a content-size field in its descriptor (FLG bit 3), also with a wrong checksum.
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(inner.length));
    const withSize = Buffer.concat([frame.subarray(0, 4), Buffer.from([frame[4]! | 0x08, frame[5]!]), size, Buffer.from([0]), frame.subarray(7)]);
    for (const value of [frame, broken, withSize]) {
      const messages = decodeLegacyMessageSet(wrapper(inner, { magic: 0, codec: 'lz4', offset: 2, value }));
      assert.deepEqual(messages.map((m) => [m.offset, m.value?.toString()]), [[0, 'value 0'], [1, 'value 1'], [2, 'value 2']]);
    }
    const inner1 = Buffer.concat([0, 1].map((offset) => entry({ offset, magic: 1, timestamp: T0, key: null, value: null })));
    const broken1 = compress('lz4', inner1);
    broken1[6] = broken1[6]! ^ 0x5a;
    assert.equal(decodeLegacyMessageSet(wrapper(inner1, { magic: 1, codec: 'lz4', offset: 1 })).length, 2);
    assert.throws(() => decodeLegacyMessageSet(wrapper(inner1, { magic: 1, codec: 'lz4', offset: 1, value: broken1 })), isCode('CORRUPT_BATCH', 0));
  });
});

void describe('legacy message set damage', () => {
  const good = entry({ offset: 3, magic: 1, timestamp: T0, key: Buffer.from('key'), value: Buffer.from('value') });
  const second = Buffer.concat([good, entry({ offset: 4, magic: 0, key: null, value: Buffer.from('x') })]);

  void it('names the byte position of a CRC mismatch', () => {
    const damaged = Buffer.from(second);
    damaged[good.length + 20] = damaged[good.length + 20]! ^ 1;
    assert.throws(() => decodeLegacyMessageSet(damaged), isCode('CORRUPT_BATCH', good.length));
    assert.throws(() => decodeLegacyMessageSet(damaged, { allowPartialTail: true }), isCode('CORRUPT_BATCH', good.length));
  });

  void it('refuses bad sizes, magics, lengths and trailing bytes inside a message', () => {
    const cases: [string, (b: Buffer) => void][] = [
      ['messageSize below 14', (b) => b.writeInt32BE(13, 8)],
      ['magic 2', (b) => (b[16] = 2)],
      ['key length -2', (b) => b.writeInt32BE(-2, 26)],
      ['key longer than the message', (b) => b.writeInt32BE(1000, 26)],
      ['value shorter than the message', (b) => b.writeInt32BE(4, 33)],
      ['unsafe timestamp', (b) => b.writeInt32BE(0x7fffffff, 18)],
      ['unsafe offset', (b) => b.writeInt32BE(-0x80000000, 0)],
    ];
    for (const [label, damage] of cases) {
      const b = Buffer.from(second);
      damage(b);
      repairCrcs(b);
      assert.throws(() => decodeLegacyMessageSet(b), isCode('CORRUPT_BATCH', 0), label);
    }
    const undersized = Buffer.from(good);
    undersized[16] = 1;
    undersized.writeInt32BE(16, 8); // a magic 1 message needs at least 22 bytes
    assert.throws(() => decodeLegacyMessageSet(undersized.subarray(0, 28)), isCode('CORRUPT_BATCH', 0));
  });

  void it('refuses zstd and unassigned codecs as UNSUPPORTED_COMPRESSION', () => {
    for (const codec of [4, 5, 7]) {
      const b = entry({ offset: 0, magic: 1, attributes: codec, timestamp: T0, key: null, value: Buffer.from('x') });
      assert.throws(() => decodeLegacyMessageSet(b), isCode('UNSUPPORTED_COMPRESSION', 0));
    }
  });

  void it('refuses malformed wrappers: null value, no messages, nested compression, mixed magic, damaged inner data', () => {
    const at = good.length;
    const inner1 = entry({ offset: 0, magic: 1, timestamp: T0, key: null, value: null });
    const nested = wrapper(inner1, { magic: 1, codec: 'gzip', offset: 0 });
    const cases: [string, Buffer][] = [
      ['null value', entry({ offset: 0, magic: 1, attributes: 1, timestamp: T0, key: null, value: null })],
      ['no messages', wrapper(Buffer.alloc(0), { magic: 1, codec: 'snappy', offset: 0 })],
      ['nested', wrapper(nested, { magic: 1, codec: 'gzip', offset: 0 })],
      ['inner magic 0 in a magic 1 wrapper', wrapper(entry({ offset: 0, magic: 0, key: null, value: null }), { magic: 1, codec: 'gzip', offset: 0 })],
      ['truncated inner set', wrapper(inner1.subarray(0, inner1.length - 1), { magic: 1, codec: 'gzip', offset: 0 })],
      ['bad inner CRC', wrapper(Buffer.concat([inner1.subarray(0, 12), Buffer.alloc(4), inner1.subarray(16)]), { magic: 1, codec: 'lz4', offset: 0 })],
      ['undecodable value', wrapper(inner1, { magic: 1, codec: 'gzip', offset: 0, value: Buffer.from('not gzip') })],
    ];
    for (const [label, bad] of cases) {
      assert.throws(() => decodeLegacyMessageSet(Buffer.concat([good, bad])), isCode('CORRUPT_BATCH', at), label);
    }
  });

  void it(`caps decompressed wrapper values at ${MAX_LEGACY_DECOMPRESSED_SIZE} bytes with RECORD_TOO_LARGE`, () => {
    const bomb = wrapper(Buffer.alloc(MAX_LEGACY_DECOMPRESSED_SIZE + 1), { magic: 1, codec: 'gzip', offset: 0 });
    assert.throws(() => decodeLegacyMessageSet(Buffer.concat([good, bomb])), isCode('RECORD_TOO_LARGE', good.length));
  });

  void it('refuses an empty set for up-conversion and damaged record batches for down-conversion', () => {
    assert.deepEqual(decodeLegacyMessageSet(Buffer.alloc(0)), []);
    assert.throws(() => legacyToRecordBatch(Buffer.alloc(0)), isCode('CORRUPT_BATCH', 0));
    assert.equal(recordBatchesToLegacy(Buffer.alloc(0), 1).length, 0);
    const one = encodeBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.from('v'), timestamp: T0 }] });
    const control = encodeBatch({ baseOffset: 1, isControl: true, records: [{ key: Buffer.alloc(4), value: Buffer.alloc(6), timestamp: T0 }] });
    assert.deepEqual(decodeLegacyMessageSet(recordBatchesToLegacy(Buffer.concat([one, control, one]), 1)).map((m) => m.offset), [0, 0]);
    const damagedControl = Buffer.from(control);
    damagedControl[damagedControl.length - 1] = damagedControl[damagedControl.length - 1]! ^ 1;
    assert.throws(() => recordBatchesToLegacy(Buffer.concat([one, damagedControl]), 1), isCode('CORRUPT_BATCH', one.length));
    assert.throws(() => recordBatchesToLegacy(Buffer.concat([one, one.subarray(0, 40)]), 0), isCode('CORRUPT_BATCH', one.length));
    assert.throws(() => recordBatchesToLegacy(Buffer.concat([one, one.subarray(0, one.length - 1)]), 0), isCode('CORRUPT_BATCH', one.length));
  });
});

interface KafkajsEncoder {
  readonly buffer: Buffer;
}
interface KafkajsEntry {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  compression?: number;
}
interface KafkajsMessage {
  offset: string;
  magicByte: number;
  attributes: number;
  timestamp?: string;
  key: Buffer | null;
  value: Buffer | null;
}

const require = createRequire(import.meta.url);
const KafkajsMessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (input: { messageVersion: number; compression?: number; entries: KafkajsEntry[] }) => KafkajsEncoder;
const kafkajsGzip = require('kafkajs/src/protocol/message/compression/gzip.js') as { compress(encoder: KafkajsEncoder): Promise<Buffer> };
const decodeKafkajsMessageSet = require('kafkajs/src/protocol/messageSet/decoder.js') as (decoder: object, size: number) => Promise<KafkajsMessage[]>;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => object;

void describe('kafkajs legacy interop', () => {
  void it('decodes message sets written by kafkajs', () => {
    fc.assert(
      fc.property(magicArb, innerArb, (magic, entries) => {
        // kafkajs numbers the entries 0..n-1 here (it writes -1 only when given compression 0 explicitly).
        const set = KafkajsMessageSet({ messageVersion: magic, entries: entries.map((e) => ({ ...e })) }).buffer;
        assert.deepEqual(
          decodeLegacyMessageSet(set),
          entries.map((e, i) => ({ magic, offset: i, timestamp: magic === 1 ? e.timestamp : -1, timestampType: 'create', key: e.key, value: e.value, compression: 'none' })),
        );
      }),
      { numRuns: 100 },
    );
  });

  void it('decodes and up-converts the gzip message set of a kafkajs Produce v2 (wrapper offset 0)', async () => {
    await fc.assert(
      fc.asyncProperty(innerArb, async (entries) => {
        // As kafkajs's produce/v2/request.js builds it: inner entries numbered 0..n-1, one gzip wrapper at offset 0.
        const inner = KafkajsMessageSet({ messageVersion: 1, compression: 1, entries: entries.map((e) => ({ ...e })) });
        const value = await kafkajsGzip.compress(inner);
        const set = KafkajsMessageSet({ messageVersion: 1, entries: [{ compression: 1, timestamp: T0, key: null, value }] }).buffer;
        assert.equal(set.readBigInt64BE(0), 0n);
        assert.deepEqual(
          decodeLegacyMessageSet(set),
          entries.map((e, i) => ({ magic: 1, offset: i, timestamp: e.timestamp, timestampType: 'create', key: e.key, value: e.value, compression: 'gzip' })),
        );
        const batch = legacyToRecordBatch(set);
        assert.equal(readBatchHeader(batch).compression, 'gzip');
        assert.deepEqual(
          decodeRecords(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
          entries.map((e, i) => [i, e.timestamp, e.key, e.value]),
        );
      }),
      { numRuns: 50 },
    );
  });

  void it('down-converts to message sets kafkajs decodes to the same records', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArb, magicArb, async (inputs, magic) => {
        const legacy = recordBatchesToLegacy(Buffer.concat(inputs.map((input) => encodeBatch(input))), magic);
        fc.pre(legacy.length > 0); // kafkajs reads a size field in place of an empty set's length
        const theirs = await decodeKafkajsMessageSet(new KafkajsDecoder(legacy), legacy.length);
        assert.deepEqual(
          theirs.map((m) => ({ offset: m.offset, magicByte: m.magicByte, attributes: m.attributes, timestamp: m.timestamp, key: m.key, value: m.value })),
          expectedLegacy(inputs, magic).map((m) => ({
            offset: String(m.offset),
            magicByte: magic,
            attributes: m.timestampType === 'log-append' ? 0x08 : 0,
            timestamp: magic === 1 ? String(m.timestamp) : undefined,
            key: m.key,
            value: m.value,
          })),
        );
      }),
      { numRuns: 100 },
    );
  });
});

void describe('legacy fuzz', { timeout: 20_000 }, () => {
  function onlyOnelogErrors(label: string, fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof OnelogError)) assert.fail(`${label} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
  }

  function readEverything(buf: Buffer, label: string): void {
    assert.equal(typeof isLegacyMessageSet(buf), 'boolean', label);
    onlyOnelogErrors(`${label} decode`, () => decodeLegacyMessageSet(buf));
    onlyOnelogErrors(`${label} decode (partial tail)`, () => decodeLegacyMessageSet(buf, { allowPartialTail: true }));
    onlyOnelogErrors(`${label} up-convert`, () => legacyToRecordBatch(buf));
  }

  const mutationArb = fc.record({ kind: fc.nat(4), at: fc.nat(), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) });
  type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

  function mutate(original: Buffer, mutations: readonly Mutation[], repair: boolean): Buffer {
    let buf = Buffer.from(original);
    for (const m of mutations) {
      if (buf.length === 0) break;
      const at = m.at % buf.length;
      switch (m.kind) {
        case 0: // bit flip
          buf[at] = buf[at]! ^ (1 << (m.value & 7));
          break;
        case 1: // truncation
          buf = buf.subarray(0, at);
          break;
        case 2: { // a size or length field rewritten: random int32 or a small shift of an entry's size
          const starts = entryStarts(buf);
          const start = starts[at % Math.max(1, starts.length)];
          if (start !== undefined && m.value % 2 === 0) buf.writeInt32BE(Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, buf.readInt32BE(start + 8) + (m.value % 11))), start + 8);
          else if (buf.length >= 4) buf.writeInt32BE(m.value, Math.min(at, buf.length - 4));
          break;
        }
        case 3: // one byte rewritten
          buf[at] = m.value & 0xff;
          break;
        default: // bytes spliced in
          buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes), buf.subarray(at)]);
      }
    }
    if (repair) repairCrcs(buf);
    return buf;
  }

  const seeds: Buffer[] = [];
  for (const [i, inputs] of fc.sample(batchesArb, { numRuns: 16, seed: 42 }).entries()) {
    seeds.push(recordBatchesToLegacy(Buffer.concat(inputs.map((input) => encodeBatch(input))), i % 2 === 0 ? 0 : 1));
  }
  const innerSets: [LegacyMagic, Buffer][] = [];
  for (const magic of [0, 1] as const) {
    innerSets.push([magic, Buffer.concat([0, 1, 2].map((i) => entry({ offset: i, magic, timestamp: T0 + i, key: Buffer.from(`k${i}`), value: Buffer.from('v'.repeat(i * 10)) })))]);
  }
  for (const [magic, inner] of innerSets) {
    for (const codec of ['gzip', 'snappy', 'lz4'] as const) seeds.push(wrapper(inner, { magic, codec, offset: 2 }));
  }

  void it('random bytes, with and without a plausible entry header, only ever raise OnelogError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), fc.nat(1), (bytes, plausible, magic) => {
        const buf = Buffer.from(bytes);
        if (plausible && buf.length >= 26) {
          buf.writeInt32BE(buf.length - 12, 8);
          buf[16] = magic;
          buf[17] = buf[17]! & 0x0b;
          repairCrcs(buf);
        }
        readEverything(buf, 'random');
      }),
      { numRuns: 3000, seed: 1 },
    );
  });

  void it('mutated sets and wrappers (outer bytes, and inner sets before compression) only ever raise OnelogError', () => {
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.boolean(), (i, mutations, repair) => {
        readEverything(mutate(seeds[i]!, mutations, repair), `mutant of seed ${i}`);
      }),
      { numRuns: 3000, seed: 2 },
    );
    fc.assert(
      fc.property(fc.nat(innerSets.length - 1), fc.constantFrom<CompressionType>('gzip', 'snappy', 'lz4'), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.boolean(), (i, codec, mutations, repair) => {
        const [magic, inner] = innerSets[i]!;
        readEverything(wrapper(mutate(inner, mutations, repair), { magic, codec, offset: 2 }), `wrapped mutant of inner set ${i}`);
      }),
      { numRuns: 1000, seed: 3 },
    );
  });

  void it('mutated record batches only ever make down-conversion raise OnelogError', () => {
    const batches = fc.sample(batchesArb, { numRuns: 20, seed: 4 }).map((inputs) => Buffer.concat(inputs.map((input) => encodeBatch(input))));
    fc.assert(
      fc.property(fc.nat(batches.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), magicArb, (i, mutations, magic) => {
        const buf = mutate(batches[i]!, mutations, false);
        onlyOnelogErrors(`down-convert of mutant ${i}`, () => recordBatchesToLegacy(buf, magic));
      }),
      { numRuns: 1000, seed: 5 },
    );
  });
});
