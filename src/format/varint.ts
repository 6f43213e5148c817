// Zigzag varints as Kafka's record format uses them: int32 varints and int64 varlongs (limited to JS safe
// integers), with exact size helpers. Writers trust their caller's sizing; readers bound-check against a
// cursor's end and report damage as CORRUPT_BATCH. Pure byte work: no allocation on the hot paths, no I/O.

import { OnelogError } from '../errors.ts';

/** A read position inside [pos, end) of a buffer; `origin` is the position errors report (the batch start). */
export interface VarintCursor {
  pos: number;
  end: number;
  origin: number;
}

const TWO_POW_27 = 0x8000000;
/** Largest high part (bits 28 and up of a zigzag value) whose decoded magnitude stays below 2^53. */
const MAX_SAFE_HIGH = 0x4000000;

function corrupt(cursor: VarintCursor, what: string): OnelogError {
  return new OnelogError('CORRUPT_BATCH', `Corrupt record batch at ${cursor.origin}: ${what}.`, { position: cursor.origin });
}

/** Bytes a zigzag varint of the int32 `value` takes (1..5). */
export function varintSize(value: number): number {
  const z = ((value << 1) ^ (value >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes the int32 `value` as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Reads a zigzag varint (at most 5 bytes, as Kafka) and advances the cursor. */
export function readVarint(buf: Uint8Array, cursor: VarintCursor): number {
  let pos = cursor.pos;
  const end = cursor.end;
  if (pos >= end) throw corrupt(cursor, 'truncated varint');
  let b = buf[pos++]!;
  if (b < 0x80) {
    cursor.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let z = b & 0x7f;
  for (let shift = 7; shift < 35; shift += 7) {
    if (pos >= end) throw corrupt(cursor, 'truncated varint');
    b = buf[pos++]!;
    z |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.pos = pos;
      z >>>= 0;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  throw corrupt(cursor, 'varint longer than 5 bytes');
}

function isInt32(value: number): boolean {
  return (value | 0) === value;
}

/** Bytes a zigzag varlong of the safe integer `value` takes (1..8 within the safe range). */
export function varlongSize(value: number): number {
  if (isInt32(value)) return varintSize(value);
  // zigzag(value) = 2m + s with m = |value| or |value| - 1; it is below 2^k exactly when m is below 2^(k-1).
  const m = value >= 0 ? value : -value - 1;
  if (m < 0x400000000) return 5;
  if (m < 0x20000000000) return 6;
  if (m < 0x1000000000000) return 7;
  return 8;
}

/** Writes the safe integer `value` as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if (isInt32(value)) return writeVarint(buf, pos, value);
  // Split zigzag(value) into its low 28 bits and the rest, both exact in doubles.
  const m = value >= 0 ? value : -value - 1;
  let low = (m % TWO_POW_27) * 2 + (value >= 0 ? 0 : 1);
  let high = Math.floor(m / TWO_POW_27);
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (low & 0x7f) | 0x80;
    low >>>= 7;
  }
  while (high >= 0x80) {
    buf[pos++] = (high % 0x80) | 0x80;
    high = Math.floor(high / 0x80);
  }
  buf[pos++] = high;
  return pos;
}

/**
 * Reads a zigzag varlong (at most 10 bytes, as Kafka) and advances the cursor. A value outside the safe
 * integer range is reported as CORRUPT_BATCH: onelog keeps int64 fields as JS numbers.
 */
export function readVarlong(buf: Uint8Array, cursor: VarintCursor): number {
  let pos = cursor.pos;
  const end = cursor.end;
  let low = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw corrupt(cursor, 'truncated varlong');
    const b = buf[pos++]!;
    low |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.pos = pos;
      return (low >>> 1) ^ -(low & 1);
    }
  }
  let high = 0;
  let scale = 1;
  for (let i = 0; i < 6; i++) {
    if (pos >= end) throw corrupt(cursor, 'truncated varlong');
    const b = buf[pos++]!;
    high += (b & 0x7f) * scale;
    scale *= 0x80;
    if (b < 0x80) {
      if (high >= MAX_SAFE_HIGH) throw corrupt(cursor, 'varlong outside the safe integer range');
      cursor.pos = pos;
      const magnitude = high * TWO_POW_27 + (low >>> 1);
      const value = (low & 1) === 0 ? magnitude : -magnitude - 1;
      if (!Number.isSafeInteger(value)) throw corrupt(cursor, 'varlong outside the safe integer range');
      return value;
    }
  }
  throw corrupt(cursor, 'varlong longer than 10 bytes');
}
