// Tests of the batch compression codecs: round trips, Kafka codec ids, the xerial snappy framing Kafka's
// Java client writes (and raw snappy as librdkafka/kafkajs may send), the LZ4 frame descriptor Kafka's
// reader accepts, and that corrupt input is always OnelogError CORRUPT_BATCH.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compressSync as rawSnappyCompress } from 'snappy';
import { OnelogError } from '../../src/errors.ts';
import { COMPRESSION_TYPES, compress, compressionCodecId, compressionFromCodecId, decompress, MAX_DECOMPRESSED_BYTES } from '../../src/format/compression.ts';

const XERIAL_HEADER_HEX = '82534e415050590000000001' + '00000001';

function isCorruptBatch(err: unknown): boolean {
  return err instanceof OnelogError && err.code === 'CORRUPT_BATCH';
}

/** Reads the [int32 BE length][block] sequence after a xerial header. */
function xerialBlocks(framed: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let pos = 16; pos < framed.length; ) {
    const length = framed.readInt32BE(pos);
    blocks.push(framed.subarray(pos + 4, pos + 4 + length));
    pos += 4 + length;
  }
  return blocks;
}

void describe('compression', () => {
  void it('uses Kafka codec ids 0..4 and refuses 5..7 as UNSUPPORTED_COMPRESSION', () => {
    assert.deepEqual(COMPRESSION_TYPES.map(compressionCodecId), [0, 1, 2, 3, 4]);
    assert.deepEqual([0, 1, 2, 3, 4].map((id) => compressionFromCodecId(id)), ['none', 'gzip', 'snappy', 'lz4', 'zstd']);
    for (const id of [5, 6, 7]) {
      assert.throws(() => compressionFromCodecId(id, 99), (err: unknown) => err instanceof OnelogError && err.code === 'UNSUPPORTED_COMPRESSION' && err.position === 99);
    }
  });

  void it('round-trips arbitrary data with every codec', () => {
    fc.assert(
      fc.property(fc.constantFrom(...COMPRESSION_TYPES), fc.uint8Array({ maxLength: 2000 }), (type, data) => {
        assert.deepEqual(decompress(type, compress(type, data)), Buffer.from(data));
      }),
      { numRuns: 300 },
    );
  });

  void it('round-trips large, compressible and incompressible data with every codec', () => {
    const compressible = Buffer.alloc(300_000, 'onelog record batch ');
    const incompressible = Buffer.from(fc.sample(fc.uint8Array({ minLength: 100_000, maxLength: 100_000 }), { numRuns: 1, seed: 7 })[0]!);
    for (const type of COMPRESSION_TYPES) {
      for (const data of [compressible, incompressible, Buffer.alloc(0)]) {
        assert.deepEqual(decompress(type, compress(type, data)), data, `${type}, ${data.length} bytes`);
      }
    }
  });

  void it('writes snappy with xerial framing in blocks of at most 32 KiB', () => {
    const data = Buffer.alloc(100_000, 'abcdefgh');
    const framed = compress('snappy', data);
    assert.equal(framed.subarray(0, 16).toString('hex'), XERIAL_HEADER_HEX);
    const blocks = xerialBlocks(framed);
    assert.equal(blocks.length, 4);
    const sizes = blocks.map((b) => decompress('snappy', b).length);
    assert.deepEqual(sizes, [32768, 32768, 32768, 100_000 - 3 * 32768]);
  });

  void it('reads raw snappy and xerial-framed snappy (also concatenated streams)', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(50));
    const raw = rawSnappyCompress(data);
    assert.deepEqual(decompress('snappy', raw), data);
    const length = Buffer.alloc(4);
    length.writeInt32BE(raw.length);
    const header = Buffer.from(XERIAL_HEADER_HEX, 'hex');
    const framed = Buffer.concat([header, length, raw]);
    assert.deepEqual(decompress('snappy', framed), data);
    assert.deepEqual(decompress('snappy', Buffer.concat([framed, framed])), Buffer.concat([data, data]));
  });

  void it('writes standard LZ4 frames Kafka reads: version 1, independent blocks, no content size, valid descriptor', () => {
    for (const size of [10, 70_000, 5_000_000]) {
      const frame = compress('lz4', Buffer.alloc(size, 'lz4 '));
      assert.equal(frame.readUInt32LE(0), 0x184d2204, 'magic');
      const flg = frame[4]!;
      assert.equal(flg >> 6, 1, 'version');
      assert.equal((flg >> 5) & 1, 1, 'block independence');
      assert.equal((flg >> 3) & 1, 0, 'no content size');
      assert.equal(flg & 3, 0, 'reserved bits');
      const bd = frame[5]!;
      assert.ok(((bd >> 4) & 7) >= 4 && ((bd >> 4) & 7) <= 7 && (bd & 0x8f) === 0, `block size descriptor ${bd.toString(16)}`);
    }
  });

  void it('turns any decoding failure into CORRUPT_BATCH carrying the batch position', () => {
    const garbage = Buffer.from('not compressed at all, not even a little');
    for (const type of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      assert.throws(() => decompress(type, garbage, 1234), (err: unknown) => isCorruptBatch(err) && (err as OnelogError).position === 1234, type);
      const valid = compress(type, Buffer.alloc(5000, 'abc'));
      assert.throws(() => decompress(type, valid.subarray(0, valid.length >> 1)), isCorruptBatch, `${type} truncated`);
    }
  });

  void it('refuses a raw snappy block declaring far more output than its bytes can hold', () => {
    assert.throws(() => decompress('snappy', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])), isCorruptBatch);
    const xerialLie = Buffer.concat([Buffer.from(XERIAL_HEADER_HEX, 'hex'), Buffer.from([0, 0, 0, 0x7f, 1])]);
    assert.throws(() => decompress('snappy', xerialLie), isCorruptBatch);
  });

  void it('refuses gzip and zstd data that inflates past MAX_DECOMPRESSED_BYTES (a compression bomb)', () => {
    const bomb = Buffer.alloc(MAX_DECOMPRESSED_BYTES + 1);
    for (const type of ['gzip', 'zstd'] as const) assert.throws(() => decompress(type, compress(type, bomb)), isCorruptBatch, type);
  });
});
