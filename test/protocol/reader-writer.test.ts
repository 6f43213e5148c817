// Unit tests of the hand-written wire primitives (reader.ts, writer.ts, codec.ts) and of the lookup
// tables (error codes, API keys): encodings, bounds checks, hostile lengths, range checks. Generated
// message codecs are covered by roundtrip.test.ts, not here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OnelogError } from '../../src/errors.ts';
import { ERROR_CODES, errorCodeInfo } from '../../src/protocol/error-codes.ts';
import { API_KEYS, APIS, apiInfo } from '../../src/protocol/generated/api-keys.ts';
import {
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from '../../src/protocol/generated/api-versions.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replaceAll(/\s+/g, ''), 'hex');
}

function written(write: (w: Writer) => void): Buffer {
  const writer = new Writer(16);
  write(writer);
  return Buffer.from(writer.finish());
}

function rejects(action: () => unknown): void {
  assert.throws(action, (error: unknown) => error instanceof OnelogError && error.code === 'INVALID_ARGUMENT');
}

describe('varints', () => {
  it('encode unsigned varints as LEB128', () => {
    const cases: readonly (readonly [number, string])[] = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8001'],
      [300, 'ac02'],
      [0xffffffff, 'ffffffff0f'],
    ];
    for (const [value, bytes] of cases) {
      assert.deepStrictEqual(written((w) => w.uvarint(value)), hex(bytes));
      assert.equal(new Reader(hex(bytes)).uvarint(), value);
    }
  });

  it('zigzag-encode signed varints', () => {
    const cases: readonly (readonly [number, string])[] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [-2, '03'],
      [0x7fffffff, 'feffffff0f'],
      [-0x80000000, 'ffffffff0f'],
    ];
    for (const [value, bytes] of cases) {
      assert.deepStrictEqual(written((w) => w.varint(value)), hex(bytes));
      assert.equal(new Reader(hex(bytes)).varint(), value);
    }
  });

  it('round-trip every 32-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.nat({ max: 0xffffffff }), (signed, unsign) => {
        const reader = new Reader(
          written((w) => {
            w.varint(signed);
            w.uvarint(unsign);
          }),
        );
        assert.equal(reader.varint(), signed);
        assert.equal(reader.uvarint(), unsign);
        assert.equal(reader.remaining, 0);
      }),
    );
  });

  it('reject varints over 32 bits or 5 bytes, and truncated ones', () => {
    rejects(() => new Reader(hex('ffffffff1f')).uvarint());
    rejects(() => new Reader(hex('8080808080')).uvarint());
    rejects(() => new Reader(hex('8080')).uvarint());
    rejects(() => written((w) => w.uvarint(-1)));
    rejects(() => written((w) => w.uvarint(2 ** 32)));
    rejects(() => written((w) => w.varint(2 ** 31)));
  });
});

describe('Reader bounds', () => {
  it('throws OnelogError, not RangeError, past the end of every primitive', () => {
    const reads: readonly ((r: Reader) => unknown)[] = [
      (r) => r.int8(),
      (r) => r.int16(),
      (r) => r.uint16(),
      (r) => r.int32(),
      (r) => r.int64(),
      (r) => r.float64(),
      (r) => r.bool(),
      (r) => r.uuid(),
      (r) => r.string(false),
      (r) => r.bytes(true),
    ];
    for (const read of reads) rejects(() => read(new Reader(new Uint8Array(0))));
    rejects(() => new Reader(hex('000000')).int32());
  });

  it('checks lengths against the remaining bytes before allocating', () => {
    rejects(() => new Reader(hex('7fffffff 00')).array(false, () => 0));
    rejects(() => new Reader(hex('ffffffff0f')).array(true, () => 0));
    rejects(() => new Reader(hex('7fffffff')).bytes(false));
    rejects(() => new Reader(hex('0005 6162')).string(false));
    rejects(() => new Reader(hex('ffffffff0f')).nullableRecords(true));
  });

  it('rejects negative lengths other than -1, and null where not nullable', () => {
    rejects(() => new Reader(hex('fffe')).nullableString(false));
    rejects(() => new Reader(hex('fffffffe')).nullableArray(false, () => 0));
    rejects(() => new Reader(hex('ffff')).string(false));
    rejects(() => new Reader(hex('00')).string(true));
    rejects(() => new Reader(hex('ffffffff')).bytes(false));
    rejects(() => new Reader(hex('ffffffff')).array(false, () => 0));
    assert.equal(new Reader(hex('ffff')).nullableString(false), null);
    assert.equal(new Reader(hex('00')).nullableBytes(true), null);
  });

  it('rejects strings longer than 32767 bytes', () => {
    rejects(() => new Reader(Buffer.concat([hex('818002'), Buffer.alloc(0x8000)])).string(true));
    rejects(() => written((w) => w.string('x'.repeat(0x8000), true)));
  });

  it('decodes invalid UTF-8 leniently, as Kafka does', () => {
    assert.equal(new Reader(hex('0001 ff')).string(false), '\ufffd');
  });

  it('returns records as views of the input and bytes as copies', () => {
    const input = hex('04 010203 04 040506');
    const reader = new Reader(input);
    const records = reader.records(true);
    const bytes = reader.bytes(true);
    assert.ok(Buffer.isBuffer(records));
    assert.equal(records.buffer, input.buffer);
    assert.notEqual(bytes.buffer, input.buffer);
    assert.deepStrictEqual(bytes, new Uint8Array([4, 5, 6]));
  });

  it('rejects a tagged field larger than what remains, or whose value overruns its size', () => {
    // ApiVersions v3 request: two empty compact strings, then one tagged field of size 5 with 3 bytes left.
    rejects(() => decodeApiVersionsRequest(new Reader(hex('01 01 01 00 05 aabbcc')), 3));
    // ApiVersions v3 response: tag 1 (an int64) announced with size 1.
    rejects(() => decodeApiVersionsResponse(new Reader(hex('0000 01 00000000 01 01 01 0000000000000005')), 3));
    // The same with the right size decodes.
    const fine = decodeApiVersionsResponse(new Reader(hex('0000 01 00000000 01 01 08 0000000000000005')), 3);
    assert.equal(fine.finalizedFeaturesEpoch, 5n);
  });
});

describe('Writer', () => {
  it('writes fixed-width integers big-endian and grows past its capacity', () => {
    const bytes = written((w) => {
      w.int8(-1);
      w.int16(0x1234);
      w.uint16(0xfffe);
      w.int32(-2);
      w.int64(-3n);
      w.float64(1.5);
      w.bool(true);
      for (let i = 0; i < 1000; i++) w.int32(i);
    });
    assert.deepStrictEqual(bytes.subarray(0, 26), hex('ff 1234 fffe fffffffe fffffffffffffffd 3ff8000000000000 01'));
    const reader = new Reader(bytes.subarray(26));
    for (let i = 0; i < 1000; i++) assert.equal(reader.int32(), i);
  });

  it('rejects out-of-range and non-integer numbers', () => {
    rejects(() => written((w) => w.int8(128)));
    rejects(() => written((w) => w.int16(-0x8001)));
    rejects(() => written((w) => w.uint16(-1)));
    rejects(() => written((w) => w.int32(1.5)));
    rejects(() => written((w) => w.int32(Number.NaN)));
    rejects(() => written((w) => w.int64(2n ** 63n)));
  });

  it('writes UUIDs as 16 bytes and reads them back in lowercase', () => {
    const bytes = written((w) => w.uuid('01234567-89AB-CDEF-0123-456789abcdef'));
    assert.deepStrictEqual(bytes, hex('0123456789abcdef0123456789abcdef'));
    assert.equal(new Reader(bytes).uuid(), '01234567-89ab-cdef-0123-456789abcdef');
    rejects(() => written((w) => w.uuid('not-a-uuid')));
  });

  it('writes null markers only where null is allowed', () => {
    assert.deepStrictEqual(written((w) => w.nullableString(null, false)), hex('ffff'));
    assert.deepStrictEqual(written((w) => w.nullableBytes(null, true)), hex('00'));
    assert.deepStrictEqual(written((w) => w.nullableArray(null, false, () => undefined)), hex('ffffffff'));
    assert.deepStrictEqual(written((w) => w.present(null)), hex('ff'));
    rejects(() => written((w) => w.nullableString(null, true, false)));
    rejects(() => written((w) => w.nullableArray(null, true, () => undefined, false)));
    rejects(() => written((w) => w.present(null, false)));
  });

  it('patches an int32 in place', () => {
    const patched = written((w) => {
      w.int32(0);
      w.int8(1);
      w.int32At(0, 5);
    });
    assert.deepStrictEqual(patched, hex('00000005 01'));
    rejects(() => written((w) => w.int32At(1, 5)));
  });
});

describe('generated codecs', () => {
  it('reject versions outside validVersions', () => {
    rejects(() => encodeApiVersionsRequest(new Writer(), { clientSoftwareName: '', clientSoftwareVersion: '' }, 5));
    rejects(() => decodeApiVersionsRequest(new Reader(new Uint8Array(0)), -1));
    rejects(() => decodeApiVersionsRequest(new Reader(new Uint8Array(0)), 1.5));
  });
});

describe('tables', () => {
  it('map error names to codes and codes to name and retriability', () => {
    assert.equal(ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION, 3);
    assert.deepStrictEqual(errorCodeInfo(3), { name: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true });
    assert.deepStrictEqual(errorCodeInfo(36), { name: 'TOPIC_ALREADY_EXISTS', code: 36, retriable: false });
    assert.equal(errorCodeInfo(-1)?.name, 'UNKNOWN_SERVER_ERROR');
    assert.equal(errorCodeInfo(9999), undefined);
    const codes = Object.values(ERROR_CODES);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('describe every API by key', () => {
    assert.equal(API_KEYS.API_VERSIONS, 18);
    assert.deepStrictEqual(apiInfo(18), {
      apiKey: 18,
      name: 'ApiVersions',
      minVersion: 0,
      maxVersion: 4,
      firstFlexibleVersion: 3,
      latestVersionUnstable: false,
      listeners: ['zkBroker', 'broker', 'controller'],
    });
    assert.equal(apiInfo(9999), undefined);
    assert.equal(new Set(APIS.map((api) => api.apiKey)).size, APIS.length);
    assert.equal(Object.keys(API_KEYS).length, APIS.length);
  });
});
