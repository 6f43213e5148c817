// Kafka's legacy message sets (magic 0 and 1, the format of Produce v0-v2 and Fetch v0-v3): decoding one
// (compressed wrappers inflated and flattened, as Kafka's LegacyRecord and AbstractLegacyRecordBatch read
// them), up-converting a produced set into one RecordBatch v2, and down-converting stored batches into
// uncompressed legacy messages. Pure bytes, no I/O; damage is OnelogError CORRUPT_BATCH naming its byte
// position. It must not write compressed legacy messages nor accept compressed messages nested in a wrapper.

import { crc32 } from '@node-rs/crc32';
import { OnelogError } from '../errors.ts';
import { compressionFromCodecId, decompress, type CompressionType } from './compression.ts';
import { batchTotalSize, decodeRecords, encodeBatch, readBatchHeader, verifyBatchCrc, type BatchHeader, type RecordInput } from './record-batch.ts';

// Field positions inside one entry of a message set, chained as in Kafka's LegacyRecord (after the
// 12-byte offset and size prefix, which Kafka calls the log overhead).
const OFFSET_OFFSET = 0;
const OFFSET_LENGTH = 8;
const SIZE_OFFSET = OFFSET_OFFSET + OFFSET_LENGTH;
const SIZE_LENGTH = 4;
const LOG_OVERHEAD = SIZE_OFFSET + SIZE_LENGTH;
const CRC_OFFSET = LOG_OVERHEAD;
const CRC_LENGTH = 4;
/** The same position as RecordBatch v2's magic, so one byte tells the formats apart. */
const MAGIC_OFFSET = CRC_OFFSET + CRC_LENGTH;
const MAGIC_LENGTH = 1;
const ATTRIBUTES_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
const ATTRIBUTES_LENGTH = 1;
const TIMESTAMP_OFFSET = ATTRIBUTES_OFFSET + ATTRIBUTES_LENGTH;
const TIMESTAMP_LENGTH = 8;
const KEY_SIZE_OFFSET_V0 = ATTRIBUTES_OFFSET + ATTRIBUTES_LENGTH;
const KEY_SIZE_OFFSET_V1 = TIMESTAMP_OFFSET + TIMESTAMP_LENGTH;
const BYTES_SIZE_LENGTH = 4;
/** messageSize of a magic 0 / magic 1 message with null key and value (Kafka's RECORD_OVERHEAD_V0/V1). */
const RECORD_OVERHEAD_V0 = KEY_SIZE_OFFSET_V0 + 2 * BYTES_SIZE_LENGTH - LOG_OVERHEAD;
const RECORD_OVERHEAD_V1 = KEY_SIZE_OFFSET_V1 + 2 * BYTES_SIZE_LENGTH - LOG_OVERHEAD;

const COMPRESSION_CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const NO_TIMESTAMP = -1;

/**
 * Cap on the decompressed wrapper values of one message set, checked after each wrapper is inflated (the
 * codecs of compression.ts take no output limit), so no more than this is ever parsed.
 */
export const MAX_LEGACY_DECOMPRESSED_SIZE = 64 * 1024 * 1024;

const TWO_POW_32 = 0x100000000;

// LZ4 frame descriptor (for KAFKA-3160): magic number, FLG, BD, optional content size and dictionary id, HC.
const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_FLG_OFFSET = 4;
const LZ4_CONTENT_SIZE_FLAG = 0x08;
const LZ4_DICT_ID_FLAG = 0x01;
const XXH_PRIME32_1 = 0x9e3779b1;
const XXH_PRIME32_2 = 0x85ebca77;
const XXH_PRIME32_3 = 0xc2b2ae3d;
const XXH_PRIME32_4 = 0x27d4eb2f;
const XXH_PRIME32_5 = 0x165667b1;

export type LegacyMagic = 0 | 1;

/** One message of a legacy set; the messages inside a compressed wrapper are returned in its place. */
export interface LegacyMessage {
  magic: LegacyMagic;
  /** Absolute offset: as written, or for an inner magic 1 message derived from its wrapper's offset. */
  offset: number;
  /** -1 for magic 0; inside a log-append-time wrapper, the wrapper's timestamp. */
  timestamp: number;
  /** 'create' for magic 0; inside a wrapper, the wrapper's type. */
  timestampType: BatchHeader['timestampType'];
  key: Buffer | null;
  value: Buffer | null;
  /** The codec of the wrapper the message came in, or 'none'. */
  compression: CompressionType;
}

export interface DecodeLegacyOptions {
  /**
   * Stop quietly at a trailing partial message (fewer bytes left than the entry declares), as Kafka's
   * clients do when reading a fetch response. Default false: the partial message is CORRUPT_BATCH.
   */
  readonly allowPartialTail?: boolean;
}

/** One message entry as stored, before wrappers are expanded. */
interface Entry {
  position: number;
  offset: number;
  magic: LegacyMagic;
  compression: CompressionType;
  timestampType: BatchHeader['timestampType'];
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

function corrupt(position: number, what: string): OnelogError {
  return new OnelogError('CORRUPT_BATCH', `Corrupt legacy message set at ${position}: ${what}.`, { position });
}

/** Damage at `pos`: for an inner message (`wrapperAt` >= 0) reported at its wrapper's position. */
function damage(wrapperAt: number, pos: number, what: string): OnelogError {
  return wrapperAt < 0 ? corrupt(pos, what) : corrupt(wrapperAt, `inner message at byte ${pos} of the decompressed wrapper value: ${what}`);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

/** The int64 at `at`, or undefined when it is outside the safe integer range. */
function readInt64(buf: Buffer, at: number): number | undefined {
  const value = buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A length-prefixed byte string ending no later than `end`: its value and where the next field starts. */
function readBytes(buf: Buffer, at: number, end: number, wrapperAt: number, entryAt: number, what: string): { bytes: Buffer | null; next: number } {
  if (end - at < BYTES_SIZE_LENGTH) throw damage(wrapperAt, entryAt, `${what} length runs past the message`);
  const length = buf.readInt32BE(at);
  const start = at + BYTES_SIZE_LENGTH;
  if (length === -1) return { bytes: null, next: start };
  if (length < 0) throw damage(wrapperAt, entryAt, `${what} length ${length}`);
  if (length > end - start) throw damage(wrapperAt, entryAt, `${what} of ${length} bytes runs past the message`);
  return { bytes: buf.subarray(start, start + length), next: start + length };
}

/** The entry at `pos` spanning [pos, end): magic, CRC, attributes and fields, all checked. */
function readEntry(buf: Buffer, pos: number, end: number, wrapperAt: number): Entry {
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== 0 && magic !== 1) throw damage(wrapperAt, pos, `magic ${magic} is not 0 or 1`);
  if (end - pos - LOG_OVERHEAD < (magic === 0 ? RECORD_OVERHEAD_V0 : RECORD_OVERHEAD_V1)) {
    throw damage(wrapperAt, pos, `messageSize ${end - pos - LOG_OVERHEAD} is below the magic ${magic} minimum`);
  }
  if (buf.readUInt32BE(pos + CRC_OFFSET) !== crc32(buf.subarray(pos + MAGIC_OFFSET, end)) >>> 0) throw damage(wrapperAt, pos, 'CRC mismatch');
  const offset = readInt64(buf, pos + OFFSET_OFFSET);
  if (offset === undefined) throw damage(wrapperAt, pos, 'offset is outside the safe integer range');
  const attributes = buf[pos + ATTRIBUTES_OFFSET]!;
  const position = wrapperAt < 0 ? pos : wrapperAt;
  const compression = compressionFromCodecId(attributes & COMPRESSION_CODEC_MASK, position);
  if (compression === 'zstd') throw new OnelogError('UNSUPPORTED_COMPRESSION', `Legacy message at ${position} uses zstd, which needs RecordBatch v2.`, { position });
  let timestamp = NO_TIMESTAMP;
  let keyAt = pos + KEY_SIZE_OFFSET_V0;
  if (magic === 1) {
    const value = readInt64(buf, pos + TIMESTAMP_OFFSET);
    if (value === undefined) throw damage(wrapperAt, pos, 'timestamp is outside the safe integer range');
    timestamp = value;
    keyAt = pos + KEY_SIZE_OFFSET_V1;
  }
  const key = readBytes(buf, keyAt, end, wrapperAt, pos, 'key');
  const value = readBytes(buf, key.next, end, wrapperAt, pos, 'value');
  if (value.next !== end) throw damage(wrapperAt, pos, `${end - value.next} bytes follow the value inside the message`);
  const timestampType = magic === 1 && (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'log-append' : 'create';
  return { position: pos, offset, magic, compression, timestampType, timestamp, key: key.bytes, value: value.bytes };
}

/** The entries of the set in `buf`; `wrapperAt` is -1 at top level, else the wrapper holding `buf`. */
function readEntries(buf: Buffer, wrapperAt: number, allowPartialTail: boolean): Entry[] {
  const entries: Entry[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < LOG_OVERHEAD) {
      if (allowPartialTail) break;
      throw damage(wrapperAt, pos, `${remaining} trailing bytes are a partial message`);
    }
    const size = buf.readInt32BE(pos + SIZE_OFFSET);
    if (size < RECORD_OVERHEAD_V0) throw damage(wrapperAt, pos, `messageSize ${size} is below ${RECORD_OVERHEAD_V0}`);
    if (size > remaining - LOG_OVERHEAD) {
      if (allowPartialTail) break;
      throw damage(wrapperAt, pos, `message of ${LOG_OVERHEAD + size} bytes runs past the end of the set`);
    }
    const end = pos + LOG_OVERHEAD + size;
    entries.push(readEntry(buf, pos, end, wrapperAt));
    pos = end;
  }
  return entries;
}

/** xxHash32 (seed 0) of fewer than 16 bytes: all an LZ4 frame descriptor can hold. */
function xxh32Short(data: Buffer): number {
  const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
  let h = XXH_PRIME32_5 + data.length;
  let i = 0;
  for (; i + 4 <= data.length; i += 4) h = Math.imul(rotl(h + Math.imul(data.readUInt32LE(i), XXH_PRIME32_3), 17), XXH_PRIME32_4);
  for (; i < data.length; i++) h = Math.imul(rotl(h + Math.imul(data[i]!, XXH_PRIME32_5), 11), XXH_PRIME32_1);
  h ^= h >>> 15;
  h = Math.imul(h, XXH_PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, XXH_PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * KAFKA-3160: magic 0 LZ4 frames were written with a header checksum computed over the wrong bytes, and
 * Kafka ignores that checksum for magic 0. The LZ4 decoder checks it, so a copy with the checksum made
 * right is decoded instead. Anything that is not an LZ4 frame header is returned as is for the decoder to refuse.
 */
function withLz4HeaderChecksumFixed(frame: Buffer): Buffer {
  if (frame.length <= LZ4_FLG_OFFSET + 2 || frame.readUInt32LE(0) !== LZ4_FRAME_MAGIC) return frame;
  const flg = frame[LZ4_FLG_OFFSET]!;
  const checksumAt = LZ4_FLG_OFFSET + 2 + ((flg & LZ4_CONTENT_SIZE_FLAG) !== 0 ? 8 : 0) + ((flg & LZ4_DICT_ID_FLAG) !== 0 ? 4 : 0);
  if (frame.length <= checksumAt) return frame;
  const fixed = Buffer.from(frame);
  fixed[checksumAt] = (xxh32Short(fixed.subarray(LZ4_FLG_OFFSET, checksumAt)) >>> 8) & 0xff;
  return fixed;
}

/** The inner messages of a compressed wrapper with absolute offsets, wrapper timestamps applied. */
function expandWrapper(wrapper: Entry, value: Buffer, decompressedSoFar: number): { messages: LegacyMessage[]; size: number } {
  const at = wrapper.position;
  const compressed = wrapper.magic === 0 && wrapper.compression === 'lz4' ? withLz4HeaderChecksumFixed(value) : value;
  const inner = decompress(wrapper.compression, compressed, at);
  if (inner.length > MAX_LEGACY_DECOMPRESSED_SIZE - decompressedSoFar) {
    throw new OnelogError('RECORD_TOO_LARGE', `Legacy message set decompresses to more than ${MAX_LEGACY_DECOMPRESSED_SIZE} bytes (wrapper at ${at}).`, { position: at });
  }
  const entries = readEntries(inner, at, false);
  const last = entries.at(-1);
  if (last === undefined) throw corrupt(at, 'compressed wrapper holds no messages');
  let base = 0;
  if (wrapper.magic === 1 && wrapper.offset !== 0) {
    // Inner offsets are relative; the wrapper carries the absolute offset of the last one. Kafka takes a
    // wrapper offset of 0 (some producers write that) as "inner offsets are absolute".
    if (wrapper.offset < last.offset) throw corrupt(at, `wrapper offset ${wrapper.offset} is below its last inner offset ${last.offset}`);
    base = wrapper.offset - last.offset;
  }
  const logAppendTime = wrapper.timestampType === 'log-append';
  const messages = entries.map((entry): LegacyMessage => {
    if (entry.compression !== 'none') throw damage(at, entry.position, 'compressed messages must not be nested');
    if (entry.magic !== wrapper.magic) throw damage(at, entry.position, `magic ${entry.magic} differs from its wrapper's ${wrapper.magic}`);
    const offset = base + entry.offset;
    if (!Number.isSafeInteger(offset)) throw damage(at, entry.position, 'absolute offset is outside the safe integer range');
    return {
      magic: entry.magic,
      offset,
      timestamp: logAppendTime ? wrapper.timestamp : entry.timestamp,
      timestampType: wrapper.timestampType,
      key: entry.key,
      value: entry.value,
      compression: wrapper.compression,
    };
  });
  return { messages, size: inner.length };
}

/**
 * Whether `bytes` starts with a legacy message (magic 0 or 1) rather than a RecordBatch: both formats keep
 * their magic byte at position 16. False when the buffer is too short to hold one.
 */
export function isLegacyMessageSet(bytes: Uint8Array): boolean {
  const magic = bytes.length > MAGIC_OFFSET ? bytes[MAGIC_OFFSET] : undefined;
  return magic === 0 || magic === 1;
}

/**
 * Decodes a legacy message set, checking every CRC and length; compressed wrappers (gzip, snappy, lz4;
 * one level, as Kafka allows) are decompressed and replaced by their messages. Keys and values are views
 * into `bytes` for uncompressed messages. CORRUPT_BATCH for damage, UNSUPPORTED_COMPRESSION for codec ids
 * 4..7, RECORD_TOO_LARGE when the wrappers inflate past MAX_LEGACY_DECOMPRESSED_SIZE.
 */
export function decodeLegacyMessageSet(bytes: Uint8Array, options: DecodeLegacyOptions = {}): LegacyMessage[] {
  const messages: LegacyMessage[] = [];
  let decompressed = 0;
  for (const entry of readEntries(asBuffer(bytes), -1, options.allowPartialTail === true)) {
    if (entry.compression === 'none') {
      const { magic, offset, timestamp, timestampType, key, value } = entry;
      messages.push({ magic, offset, timestamp, timestampType, key, value, compression: 'none' });
      continue;
    }
    if (entry.value === null) throw corrupt(entry.position, 'compressed wrapper has a null value');
    const expanded = expandWrapper(entry, entry.value, decompressed);
    decompressed += expanded.size;
    for (const message of expanded.messages) messages.push(message);
  }
  return messages;
}

/**
 * Up-conversion for Produce v0-v2: the messages of a legacy set (a trailing partial message is
 * CORRUPT_BATCH) as one RecordBatch v2 with baseOffset 0, offset deltas 0..n-1 and no producer id,
 * compressed with the codec of the last compressed wrapper (as Kafka's broker picks it), else none.
 * Timestamps are kept (-1 for magic 0); the batch is log-append time only when every message is, and
 * then reports the largest of their timestamps for all records, as every v2 log-append batch does.
 * CORRUPT_BATCH for an empty set.
 */
export function legacyToRecordBatch(bytes: Uint8Array): Buffer {
  const messages = decodeLegacyMessageSet(bytes);
  if (messages.length === 0) throw corrupt(0, 'no messages');
  let compression: CompressionType = 'none';
  let allLogAppendTime = true;
  const records: RecordInput[] = [];
  for (const message of messages) {
    if (message.compression !== 'none') compression = message.compression;
    if (message.timestampType !== 'log-append') allLogAppendTime = false;
    records.push({ key: message.key, value: message.value, timestamp: message.timestamp });
  }
  return encodeBatch({ baseOffset: 0, records, compression, timestampType: allLogAppendTime ? 'log-append' : 'create' });
}

/** A record to write as a legacy message. */
interface Outgoing {
  offset: number;
  timestamp: number;
  logAppendTime: boolean;
  key: Buffer | null;
  value: Buffer | null;
}

function bytesLength(bytes: Buffer | null): number {
  return bytes === null ? 0 : bytes.length;
}

function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf.writeInt32BE(-1, pos);
    return pos + BYTES_SIZE_LENGTH;
  }
  buf.writeInt32BE(bytes.length, pos);
  buf.set(bytes, pos + BYTES_SIZE_LENGTH);
  return pos + BYTES_SIZE_LENGTH + bytes.length;
}

/**
 * Down-conversion for Fetch v0-v3: whole RecordBatch v2 batches, concatenated as storage returns them,
 * as uncompressed legacy messages of `magic`, one per record with its absolute offset; for magic 1 the
 * record's timestamp and the batch's timestamp type are kept. Control batches are skipped (their CRC is
 * still checked) and record headers dropped, as Kafka does. Damaged or partial batches are CORRUPT_BATCH.
 */
export function recordBatchesToLegacy(batches: Uint8Array, magic: LegacyMagic): Buffer {
  const data = asBuffer(batches);
  const outgoing: Outgoing[] = [];
  let total = 0;
  for (let pos = 0; pos < data.length; ) {
    const header = readBatchHeader(data, pos);
    if (header.isControl) {
      if (!verifyBatchCrc(data, pos)) throw new OnelogError('CORRUPT_BATCH', `Corrupt record batch at ${pos}: control batch fails its CRC or runs past the end.`, { position: pos });
    } else {
      const logAppendTime = header.timestampType === 'log-append';
      for (const record of decodeRecords(data, pos)) {
        outgoing.push({ offset: record.offset, timestamp: record.timestamp, logAppendTime, key: record.key, value: record.value });
        total += LOG_OVERHEAD + (magic === 0 ? RECORD_OVERHEAD_V0 : RECORD_OVERHEAD_V1) + bytesLength(record.key) + bytesLength(record.value);
      }
    }
    pos += batchTotalSize(data, pos);
  }

  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const message of outgoing) {
    const start = pos;
    writeInt64(out, start + OFFSET_OFFSET, message.offset);
    out[start + MAGIC_OFFSET] = magic;
    if (magic === 1) {
      out[start + ATTRIBUTES_OFFSET] = message.logAppendTime ? TIMESTAMP_TYPE_MASK : 0;
      writeInt64(out, start + TIMESTAMP_OFFSET, message.timestamp);
      pos = start + KEY_SIZE_OFFSET_V1;
    } else {
      out[start + ATTRIBUTES_OFFSET] = 0;
      pos = start + KEY_SIZE_OFFSET_V0;
    }
    pos = writeBytes(out, pos, message.key);
    pos = writeBytes(out, pos, message.value);
    out.writeInt32BE(pos - start - LOG_OVERHEAD, start + SIZE_OFFSET);
    out.writeUInt32BE(crc32(out.subarray(start + MAGIC_OFFSET, pos)) >>> 0, start + CRC_OFFSET);
  }
  return out;
}
