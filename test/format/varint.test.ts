// Tests of the zigzag varint/varlong codec: known byte vectors, round trips, exact sizes, agreement with
// kafkajs's independent encoder, and refusal of truncated, overlong or out-of-range input.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OnelogError } from '../../src/errors.ts';
import { readVarint, readVarlong, varintSize, varlongSize, writeVarint, writeVarlong, type VarintCursor } from '../../src/format/varint.ts';

interface KafkajsEncoder {
  writeVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: number): KafkajsEncoder;
  readonly buffer: Buffer;
}
const require = createRequire(import.meta.url);
const KafkajsEncoderClass = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder;

function cursorOver(buf: Uint8Array): VarintCursor {
  return { pos: 0, end: buf.length, origin: 7 };
}

function encodeVarint(value: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarint(buf, 0, value));
}

function encodeVarlong(value: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarlong(buf, 0, value));
}

const safeIntArb = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }).map(Number));

void describe('varint', () => {
  void it('encodes known values as protobuf zigzag varints', () => {
    const vectors: [number, string][] = [
      [0, '00'], [-1, '01'], [1, '02'], [-64, '7f'], [63, '7e'], [64, '8001'], [300, 'd804'],
      [-2147483648, 'ffffffff0f'], [2147483647, 'feffffff0f'],
    ];
    for (const [value, hex] of vectors) {
      assert.equal(encodeVarint(value).toString('hex'), hex, `value ${value}`);
      assert.equal(varintSize(value), hex.length / 2);
      assert.equal(readVarint(Buffer.from(hex, 'hex'), cursorOver(Buffer.from(hex, 'hex'))), value);
    }
  });

  void it('round-trips every int32 with the exact size, byte-identical to kafkajs', () => {
    fc.assert(
      fc.property(fc.integer(), (value) => {
        const bytes = encodeVarint(value);
        assert.equal(bytes.length, varintSize(value));
        assert.deepEqual(bytes, new KafkajsEncoderClass().writeVarInt(value).buffer);
        const cursor = cursorOver(bytes);
        assert.equal(readVarint(bytes, cursor), value);
        assert.equal(cursor.pos, bytes.length);
      }),
    );
  });

  void it('refuses truncated and overlong varints with CORRUPT_BATCH at the cursor origin', () => {
    for (const hex of ['', '80', 'ffff', '8080808080', 'ffffffffff01']) {
      const buf = Buffer.from(hex, 'hex');
      assert.throws(() => readVarint(buf, cursorOver(buf)), (err: unknown) => err instanceof OnelogError && err.code === 'CORRUPT_BATCH' && err.position === 7);
    }
  });

  void it('does not read past the cursor end', () => {
    const buf = Buffer.from('d804', 'hex');
    assert.throws(() => readVarint(buf, { pos: 0, end: 1, origin: 0 }), OnelogError);
  });
});

void describe('varlong', () => {
  void it('encodes known values', () => {
    const vectors: [number, string][] = [
      [0, '00'], [-1, '01'], [2 ** 31, '8080808010'], [-(2 ** 31) - 1, '8180808010'],
      [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'], [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
    ];
    for (const [value, hex] of vectors) {
      assert.equal(encodeVarlong(value).toString('hex'), hex, `value ${value}`);
      assert.equal(varlongSize(value), hex.length / 2);
    }
  });

  void it('round-trips every safe integer with the exact size, byte-identical to kafkajs', () => {
    fc.assert(
      fc.property(safeIntArb, (value) => {
        const bytes = encodeVarlong(value);
        assert.equal(bytes.length, varlongSize(value));
        assert.deepEqual(bytes, new KafkajsEncoderClass().writeVarLong(value).buffer);
        const cursor = cursorOver(bytes);
        assert.equal(readVarlong(bytes, cursor), value);
        assert.equal(cursor.pos, bytes.length);
      }),
      { numRuns: 500 },
    );
  });

  void it('refuses values outside the safe integer range, truncation and more than 10 bytes', () => {
    const unsafe = [
      new KafkajsEncoderClass().writeVarLong(2 ** 53).buffer, // 2^53 is exactly representable but not safe
      Buffer.from('ffffffffffffffff7f', 'hex'),
      Buffer.from('ffffffffffffffffff01', 'hex'), // int64 min
      Buffer.from('8080808080', 'hex'),
      Buffer.from('ffffffffffffffffffff01', 'hex'),
    ];
    for (const buf of unsafe) {
      assert.throws(() => readVarlong(buf, cursorOver(buf)), (err: unknown) => err instanceof OnelogError && err.code === 'CORRUPT_BATCH');
    }
  });
});
