// Tests of the CRC-32C wrapper: the standard check value, ranges, continuation, and agreement with a
// bit-by-bit reference implementation of the Castagnoli polynomial.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../../src/format/crc32c.ts';

/** Bitwise reflected CRC-32C (polynomial 0x82F63B78): slow, obviously correct. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (crc & 1 ? 0x82f63b78 : 0);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

void describe('crc32c', () => {
  void it('gives the standard check value for "123456789"', () => {
    assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  void it('checksums a byte range of a plain Uint8Array', () => {
    const data = new TextEncoder().encode('xx123456789yy');
    assert.equal(crc32c(data, 2, 11), 0xe3069283);
  });

  void it('matches the bitwise reference and continues across chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (data, cut) => {
        const split = data.length === 0 ? 0 : cut % data.length;
        const whole = crc32c(data);
        assert.equal(whole, referenceCrc32c(data));
        assert.equal(crc32c(data, split, data.length, crc32c(data, 0, split)), whole);
      }),
    );
  });
});
