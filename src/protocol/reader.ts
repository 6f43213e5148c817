// Bounds-checked cursor over a Uint8Array holding Kafka wire-format bytes: fixed-width integers,
// varints, strings, bytes, records, arrays, UUIDs and tagged-field sections, compact or not.
// It never throws anything but OnelogError and checks every length against the remaining bytes
// before allocating, so a hostile frame cannot make it allocate more than the frame's own size.
// It does no I/O.
import { OnelogError } from '../errors.ts';

/** Longest string Kafka accepts in a string field, in UTF-8 bytes (its length prefix is an int16). */
export const MAX_STRING_BYTES = 0x7fff;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Reader {
  readonly #bytes: Buffer;
  readonly #view: DataView;
  #offset: number;

  /** Reads `bytes` from its start. Buffer views decoded from records fields share its memory. */
  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = 0;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** Advances past `length` bytes and returns the offset they start at. */
  #take(length: number, what: string): number {
    if (length > this.remaining) {
      throw new OnelogError(
        'INVALID_ARGUMENT',
        `${what} needs ${length} bytes at offset ${this.#offset} but only ${this.remaining} remain`,
        { position: this.#offset },
      );
    }
    const start = this.#offset;
    this.#offset += length;
    return start;
  }

  #fail(message: string): never {
    throw new OnelogError('INVALID_ARGUMENT', `${message} at offset ${this.#offset}`, { position: this.#offset });
  }

  int8(): number {
    return this.#view.getInt8(this.#take(1, 'int8'));
  }

  int16(): number {
    return this.#view.getInt16(this.#take(2, 'int16'));
  }

  uint16(): number {
    return this.#view.getUint16(this.#take(2, 'uint16'));
  }

  int32(): number {
    return this.#view.getInt32(this.#take(4, 'int32'));
  }

  int64(): bigint {
    return this.#view.getBigInt64(this.#take(8, 'int64'));
  }

  float64(): number {
    return this.#view.getFloat64(this.#take(8, 'float64'));
  }

  /** Kafka reads every non-zero byte as true. */
  bool(): boolean {
    return this.#view.getUint8(this.#take(1, 'bool')) !== 0;
  }

  /** Unsigned LEB128 varint of at most 5 bytes and 32 bits, as Kafka's readUnsignedVarint. */
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.#view.getUint8(this.#take(1, 'varint'));
      if (i === 4 && byte > 0x0f) this.#fail('varint longer than 32 bits');
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    return this.#fail('varint longer than 5 bytes');
  }

  /** Zigzag-encoded signed 32-bit varint. */
  varint(): number {
    const raw = this.uvarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** 16 bytes as a lowercase 8-4-4-4-12 hex string. */
  uuid(): string {
    const start = this.#take(16, 'uuid');
    let text = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text += '-';
      text += HEX[this.#bytes[start + i]!]!;
    }
    return text;
  }

  /** Length of a string, bytes, records or array: -1 means null. */
  #length(compact: boolean, wide: boolean, what: string): number {
    const length = compact ? this.uvarint() - 1 : wide ? this.int32() : this.int16();
    if (length < -1) this.#fail(`negative ${what} length ${length}`);
    return length;
  }

  #stringOfLength(length: number): string {
    if (length > MAX_STRING_BYTES) this.#fail(`string length ${length} exceeds ${MAX_STRING_BYTES}`);
    const start = this.#take(length, 'string');
    return this.#bytes.toString('utf8', start, start + length);
  }

  /** A non-nullable string; invalid UTF-8 decodes to U+FFFD, as in Kafka. */
  string(compact: boolean): string {
    const length = this.#length(compact, false, 'string');
    if (length < 0) this.#fail('null in a non-nullable string');
    return this.#stringOfLength(length);
  }

  nullableString(compact: boolean): string | null {
    const length = this.#length(compact, false, 'string');
    return length < 0 ? null : this.#stringOfLength(length);
  }

  #bytesOfLength(length: number): Uint8Array {
    const start = this.#take(length, 'bytes');
    return new Uint8Array(this.#bytes.subarray(start, start + length));
  }

  /** A copy of a non-nullable bytes field. */
  bytes(compact: boolean): Uint8Array {
    const length = this.#length(compact, true, 'bytes');
    if (length < 0) this.#fail('null in a non-nullable bytes field');
    return this.#bytesOfLength(length);
  }

  nullableBytes(compact: boolean): Uint8Array | null {
    const length = this.#length(compact, true, 'bytes');
    return length < 0 ? null : this.#bytesOfLength(length);
  }

  #recordsOfLength(length: number): Buffer {
    const start = this.#take(length, 'records');
    return this.#bytes.subarray(start, start + length);
  }

  /** A records field, left encoded: a Buffer view sharing the input's memory, never a copy. */
  records(compact: boolean): Buffer {
    const length = this.#length(compact, true, 'records');
    if (length < 0) this.#fail('null in a non-nullable records field');
    return this.#recordsOfLength(length);
  }

  nullableRecords(compact: boolean): Buffer | null {
    const length = this.#length(compact, true, 'records');
    return length < 0 ? null : this.#recordsOfLength(length);
  }

  #elements<T>(count: number, readElement: () => T): T[] {
    // As Kafka does: no array may claim more elements than there are bytes left.
    if (count > this.remaining) this.#fail(`array of ${count} elements with ${this.remaining} bytes left`);
    const elements: T[] = [];
    for (let i = 0; i < count; i++) elements.push(readElement());
    return elements;
  }

  array<T>(compact: boolean, readElement: () => T): T[] {
    const count = this.#length(compact, true, 'array');
    if (count < 0) this.#fail('null in a non-nullable array');
    return this.#elements(count, readElement);
  }

  nullableArray<T>(compact: boolean, readElement: () => T): T[] | null {
    const count = this.#length(compact, true, 'array');
    return count < 0 ? null : this.#elements(count, readElement);
  }

  /** Presence marker of a nullable struct field: an int8, negative for null. */
  present(): boolean {
    return this.int8() >= 0;
  }

  /** Presence marker of a nullable struct inside a tagged field: a uvarint, zero for null. */
  presentVarint(): boolean {
    return this.uvarint() > 0;
  }

  /** Reads a tagged field's size and returns the offset where its value ends. */
  taggedFieldEnd(): number {
    const size = this.uvarint();
    if (size > this.remaining) this.#fail(`tagged field of ${size} bytes with ${this.remaining} bytes left`);
    return this.#offset + size;
  }

  /** Moves to the end of a tagged field, skipping what its reader left (or all of an unknown one). */
  endTaggedField(end: number): void {
    if (this.#offset > end) this.#fail('tagged field value overruns its size');
    this.#offset = end;
  }

  /** Skips a whole tagged-field section whose fields are all unknown to this version. */
  skipTaggedFields(): void {
    for (let count = this.uvarint(); count > 0; count--) {
      this.uvarint();
      this.#take(this.uvarint(), 'tagged field');
    }
  }
}
