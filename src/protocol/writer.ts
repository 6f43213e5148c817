// Growable buffer writer for Kafka wire-format bytes, with the same primitives as reader.ts.
// Every value is range-checked first: out-of-range numbers, malformed UUIDs, over-long strings and
// nulls in non-nullable fields throw OnelogError instead of being silently truncated. No I/O.
import { OnelogError } from '../errors.ts';
import { MAX_STRING_BYTES } from './reader.ts';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function invalid(message: string): never {
  throw new OnelogError('INVALID_ARGUMENT', message);
}

function checkInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) invalid(`${what} out of range: ${value}`);
}

function checkNull(allowNull: boolean, what: string): void {
  if (!allowNull) invalid(`null in a non-nullable ${what} at this version`);
}

export class Writer {
  #bytes: Buffer;
  #view: DataView;
  #length = 0;

  constructor(initialCapacity = 256) {
    this.#bytes = Buffer.alloc(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** The bytes written so far, as a view of the internal buffer (valid until the next write). */
  finish(): Buffer {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Reserves `size` bytes and returns the offset they start at; may replace #bytes and #view. */
  #reserve(size: number): number {
    const needed = this.#length + size;
    if (needed > this.#bytes.length) {
      const grown = Buffer.alloc(Math.max(needed, this.#bytes.length * 2));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    }
    const start = this.#length;
    this.#length = needed;
    return start;
  }

  int8(value: number): void {
    checkInteger(value, -0x80, 0x7f, 'int8');
    const at = this.#reserve(1);
    this.#view.setInt8(at, value);
  }

  int16(value: number): void {
    checkInteger(value, -0x8000, 0x7fff, 'int16');
    const at = this.#reserve(2);
    this.#view.setInt16(at, value);
  }

  uint16(value: number): void {
    checkInteger(value, 0, 0xffff, 'uint16');
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
  }

  int32(value: number): void {
    checkInteger(value, -0x80000000, 0x7fffffff, 'int32');
    const at = this.#reserve(4);
    this.#view.setInt32(at, value);
  }

  /** Overwrites the int32 at `offset` (e.g. a frame's size prefix written before its content). */
  int32At(offset: number, value: number): void {
    checkInteger(value, -0x80000000, 0x7fffffff, 'int32');
    checkInteger(offset, 0, this.#length - 4, 'int32 offset');
    this.#view.setInt32(offset, value);
  }

  int64(value: bigint): void {
    if (value < INT64_MIN || value > INT64_MAX) invalid(`int64 out of range: ${value}`);
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, value);
  }

  float64(value: number): void {
    const at = this.#reserve(8);
    this.#view.setFloat64(at, value);
  }

  bool(value: boolean): void {
    const at = this.#reserve(1);
    this.#view.setUint8(at, value ? 1 : 0);
  }

  /** Unsigned LEB128 varint of a value in [0, 2^32). */
  uvarint(value: number): void {
    checkInteger(value, 0, 0xffffffff, 'unsigned varint');
    let rest = value;
    while (rest >= 0x80) {
      const at = this.#reserve(1);
      this.#view.setUint8(at, (rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    const at = this.#reserve(1);
    this.#view.setUint8(at, rest);
  }

  /** Zigzag-encoded signed 32-bit varint. */
  varint(value: number): void {
    checkInteger(value, -0x80000000, 0x7fffffff, 'varint');
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** A UUID in 8-4-4-4-12 hex form (either case) as its 16 bytes. */
  uuid(value: string): void {
    if (!UUID_PATTERN.test(value)) invalid(`not a UUID: ${JSON.stringify(value)}`);
    const hex = value.replaceAll('-', '');
    const start = this.#reserve(16);
    for (let i = 0; i < 16; i++) this.#bytes[start + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }

  /** Length prefix: uvarint length+1 when compact, else int16 (strings) or int32; -1 is null. */
  #lengthPrefix(length: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(length + 1);
    else if (wide) this.int32(length);
    else this.int16(length);
  }

  /** Raw bytes, no length prefix. */
  raw(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.#bytes.set(bytes, at);
  }

  string(value: string, compact: boolean): void {
    const size = Buffer.byteLength(value, 'utf8');
    if (size > MAX_STRING_BYTES) invalid(`string of ${size} bytes exceeds ${MAX_STRING_BYTES}`);
    this.#lengthPrefix(size, compact, false);
    const at = this.#reserve(size);
    this.#bytes.write(value, at, size, 'utf8');
  }

  /** A nullable string; `allowNull` false (a version where the field is not nullable) rejects null. */
  nullableString(value: string | null, compact: boolean, allowNull = true): void {
    if (value !== null) this.string(value, compact);
    else {
      checkNull(allowNull, 'string');
      this.#lengthPrefix(-1, compact, false);
    }
  }

  /** A bytes or records field. */
  bytes(value: Uint8Array, compact: boolean): void {
    this.#lengthPrefix(value.length, compact, true);
    this.raw(value);
  }

  nullableBytes(value: Uint8Array | null, compact: boolean, allowNull = true): void {
    if (value !== null) this.bytes(value, compact);
    else {
      checkNull(allowNull, 'bytes field');
      this.#lengthPrefix(-1, compact, true);
    }
  }

  array<T>(values: readonly T[], compact: boolean, writeElement: (element: T) => void): void {
    this.#lengthPrefix(values.length, compact, true);
    for (const value of values) writeElement(value);
  }

  nullableArray<T>(
    values: readonly T[] | null,
    compact: boolean,
    writeElement: (element: T) => void,
    allowNull = true,
  ): void {
    if (values !== null) this.array(values, compact, writeElement);
    else {
      checkNull(allowNull, 'array');
      this.#lengthPrefix(-1, compact, true);
    }
  }

  /**
   * Presence marker of a nullable struct field: int8 -1 for null, 1 otherwise. In a version where
   * the field is not nullable (`allowNull` false) no marker is written and null is rejected.
   * Returns whether the struct itself must follow.
   */
  present<T>(value: T | null, allowNull = true): value is T {
    if (allowNull) this.int8(value === null ? -1 : 1);
    else if (value === null) checkNull(false, 'struct');
    return value !== null;
  }

  /** Presence marker of a nullable struct inside a tagged field: uvarint 0 for null, 1 otherwise. */
  presentVarint<T>(value: T | null): value is T {
    this.uvarint(value === null ? 0 : 1);
    return value !== null;
  }

  /** One tagged field: its tag, the size of its value, then the value that `writeValue` writes. */
  tagged(tag: number, writeValue: (writer: Writer) => void): void {
    const value = new Writer(64);
    writeValue(value);
    this.uvarint(tag);
    this.uvarint(value.length);
    this.raw(value.finish());
  }
}
