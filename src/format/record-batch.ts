// Kafka's RecordBatch v2 (magic 2), byte for byte: encoding a batch, reading its header, verifying its
// CRC-32C, decoding its records (zero-copy views when uncompressed) and the in-place edits a broker makes
// (base offset, partition leader epoch, log-append time). Pure bytes: no I/O, no clocks; int64 fields are
// JS numbers and anything outside the safe integer range is refused. Damage is OnelogError CORRUPT_BATCH.

import { OnelogError } from '../errors.ts';
import { COMPRESSION_TYPES, compress, compressionCodecId, compressionFromCodecId, decompress, type CompressionType } from './compression.ts';
import { crc32c } from './crc32c.ts';
import { readVarint, readVarlong, varintSize, varlongSize, writeVarint, writeVarlong, type VarintCursor } from './varint.ts';

// Field positions inside a batch, chained as in Kafka's DefaultRecordBatch.
export const BASE_OFFSET_OFFSET = 0;
export const BASE_OFFSET_LENGTH = 8;
export const LENGTH_OFFSET = BASE_OFFSET_OFFSET + BASE_OFFSET_LENGTH;
export const LENGTH_LENGTH = 4;
export const PARTITION_LEADER_EPOCH_OFFSET = LENGTH_OFFSET + LENGTH_LENGTH;
export const PARTITION_LEADER_EPOCH_LENGTH = 4;
export const MAGIC_OFFSET = PARTITION_LEADER_EPOCH_OFFSET + PARTITION_LEADER_EPOCH_LENGTH;
export const MAGIC_LENGTH = 1;
export const CRC_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
export const CRC_LENGTH = 4;
export const ATTRIBUTES_OFFSET = CRC_OFFSET + CRC_LENGTH;
export const ATTRIBUTE_LENGTH = 2;
export const LAST_OFFSET_DELTA_OFFSET = ATTRIBUTES_OFFSET + ATTRIBUTE_LENGTH;
export const LAST_OFFSET_DELTA_LENGTH = 4;
export const BASE_TIMESTAMP_OFFSET = LAST_OFFSET_DELTA_OFFSET + LAST_OFFSET_DELTA_LENGTH;
export const BASE_TIMESTAMP_LENGTH = 8;
export const MAX_TIMESTAMP_OFFSET = BASE_TIMESTAMP_OFFSET + BASE_TIMESTAMP_LENGTH;
export const MAX_TIMESTAMP_LENGTH = 8;
export const PRODUCER_ID_OFFSET = MAX_TIMESTAMP_OFFSET + MAX_TIMESTAMP_LENGTH;
export const PRODUCER_ID_LENGTH = 8;
export const PRODUCER_EPOCH_OFFSET = PRODUCER_ID_OFFSET + PRODUCER_ID_LENGTH;
export const PRODUCER_EPOCH_LENGTH = 2;
export const BASE_SEQUENCE_OFFSET = PRODUCER_EPOCH_OFFSET + PRODUCER_EPOCH_LENGTH;
export const BASE_SEQUENCE_LENGTH = 4;
export const RECORDS_COUNT_OFFSET = BASE_SEQUENCE_OFFSET + BASE_SEQUENCE_LENGTH;
export const RECORDS_COUNT_LENGTH = 4;
export const RECORDS_OFFSET = RECORDS_COUNT_OFFSET + RECORDS_COUNT_LENGTH;
/** Bytes of a batch before its first record (61). */
export const RECORD_BATCH_OVERHEAD = RECORDS_OFFSET;
/** Bytes before the part that batchLength counts: baseOffset and batchLength (12). */
export const LOG_OVERHEAD = LENGTH_OFFSET + LENGTH_LENGTH;
/** Smallest legal batchLength: a batch with no records (49). */
export const MIN_BATCH_LENGTH = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD;

export const CURRENT_MAGIC_VALUE = 2;
export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

const MAX_INT32 = 0x7fffffff;
const TWO_POW_32 = 0x100000000;

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface RecordInput {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: readonly RecordHeader[];
  readonly timestamp: number;
  /** Offset delta within the batch (default: the record's index); deltas must strictly increase. */
  readonly offsetDelta?: number;
}

export interface BatchInput {
  readonly baseOffset: number;
  /** Defaults to 0. */
  readonly partitionLeaderEpoch?: number;
  readonly records: readonly RecordInput[];
  /** Defaults to 'none'. */
  readonly compression?: CompressionType;
  /** Defaults to 'create'. */
  readonly timestampType?: 'create' | 'log-append';
  /** Defaults to -1 (no producer id). */
  readonly producerId?: number;
  /** Defaults to -1. */
  readonly producerEpoch?: number;
  /** Defaults to -1 (no sequence). */
  readonly baseSequence?: number;
  readonly isTransactional?: boolean;
  readonly isControl?: boolean;
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Unsigned CRC-32C as stored; readBatchHeader does not check it. */
  crc: number;
  attributes: number;
  compression: CompressionType;
  timestampType: 'create' | 'log-append';
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface DecodedRecord {
  offset: number;
  /** For a log-append-time batch, the batch's maxTimestamp (as Kafka reports it). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  attributes: number;
}

function corrupt(position: number, what: string): OnelogError {
  return new OnelogError('CORRUPT_BATCH', `Corrupt record batch at ${position}: ${what}.`, { position });
}

function invalid(what: string): OnelogError {
  return new OnelogError('INVALID_ARGUMENT', what);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function isInt32(value: number): boolean {
  return (value | 0) === value;
}

function isInt16(value: number): boolean {
  return isInt32(value) && value >= -0x8000 && value <= 0x7fff;
}

function checkPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) throw invalid(`Batch position must be a non-negative integer, got ${position}.`);
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

function readInt64(buf: Buffer, pos: number, position: number, field: string): number {
  const value = buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
  if (!Number.isSafeInteger(value)) throw corrupt(position, `${field} is outside the safe integer range`);
  return value;
}

// ---- encoding ----

/** Bytes a varint takes at most (an int32 record length). */
const MAX_VARINT_BYTES = 5;

function bytesSize(bytes: Buffer | null): number {
  return bytes === null ? 1 : varintSize(bytes.length) + bytes.length;
}

/** The offset delta of records[i] (default: i), checked to be an int32 above the previous record's. */
function offsetDeltaAt(records: readonly RecordInput[], i: number, previousDelta: number): number {
  const delta = records[i]!.offsetDelta ?? i;
  if (!isInt32(delta) || delta <= previousDelta) throw invalid(`Record ${i}: offset delta ${delta} must be an int32 above the previous record's (${previousDelta}).`);
  return delta;
}

/** Size of one record after its length varint; validates its timestamp against the batch's base. */
function recordBodySize(record: RecordInput, offsetDelta: number, baseTimestamp: number): number {
  const timestamp = record.timestamp;
  const timestampDelta = timestamp - baseTimestamp;
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(timestampDelta)) {
    throw invalid(`Record ${offsetDelta}: timestamp ${timestamp} is not a safe integer within 2^53 of the batch's first timestamp.`);
  }
  let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(record.key) + bytesSize(record.value);
  const headers = record.headers;
  if (headers === undefined) return size + 1;
  size += varintSize(headers.length);
  for (const header of headers) {
    const keyLength = Buffer.byteLength(header.key, 'utf8');
    size += varintSize(keyLength) + keyLength + bytesSize(header.value);
  }
  if (size > MAX_INT32) throw new OnelogError('RECORD_TOO_LARGE', `Record ${offsetDelta} is ${size} bytes, more than a batch can hold.`);
  return size;
}

function checkRecordCount(count: number): void {
  if (count === 0) throw invalid('A record batch needs at least one record.');
  if (count > MAX_INT32) throw invalid('Too many records for one batch.');
}

function checkRecordsSize(total: number): void {
  if (total > MAX_INT32 - MIN_BATCH_LENGTH) throw new OnelogError('RECORD_TOO_LARGE', `Records of ${total} bytes do not fit in one batch.`);
}

/** Bytes of all records, uncompressed. */
function measureRecords(records: readonly RecordInput[]): number {
  const count = records.length;
  checkRecordCount(count);
  const baseTimestamp = records[0]!.timestamp;
  let total = 0;
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const delta = offsetDeltaAt(records, i, previousDelta);
    previousDelta = delta;
    const body = recordBodySize(records[i]!, delta, baseTimestamp);
    total += varintSize(body) + body;
  }
  checkRecordsSize(total);
  return total;
}

/** A record's framing in a batch beyond its key, value and headers, at most (length, attributes, deltas). */
const MAX_RECORD_FRAMING_BYTES = 40;
/** A header's framing beyond its key and value bytes, at most (two length varints). */
const MAX_HEADER_FRAMING_BYTES = 10;

/**
 * An upper bound of the bytes `record` takes in an uncompressed batch, without measuring varints: what
 * writers that cut batches under a byte limit add up (the exact size is encodedBatchSize's).
 */
export function maxRecordBytes(record: RecordInput): number {
  const size = MAX_RECORD_FRAMING_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  const headers = record.headers;
  if (headers === undefined) return size;
  let headerBytes = 0;
  for (const h of headers) headerBytes += MAX_HEADER_FRAMING_BYTES + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return size + headerBytes;
}

/**
 * Exact size of encodeBatch(input) when its compression is 'none'; for other codecs, the size the batch
 * would have uncompressed.
 */
export function encodedBatchSize(input: BatchInput): number {
  return RECORD_BATCH_OVERHEAD + measureRecords(input.records);
}

function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  const length = bytes.length;
  pos = writeVarint(buf, pos, length);
  buf.set(bytes, pos);
  return pos + length;
}

/** Writes one record whose body is `body` bytes at `pos`; returns the position after it. */
function writeRecord(buf: Buffer, pos: number, record: RecordInput, body: number, offsetDelta: number, baseTimestamp: number): number {
  pos = writeVarint(buf, pos, body);
  buf[pos++] = 0; // record attributes: unused
  pos = writeVarlong(buf, pos, record.timestamp - baseTimestamp);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeBytes(buf, pos, record.key);
  pos = writeBytes(buf, pos, record.value);
  const headers = record.headers;
  if (headers === undefined) {
    buf[pos++] = 0;
    return pos;
  }
  pos = writeVarint(buf, pos, headers.length);
  for (const header of headers) {
    pos = writeVarint(buf, pos, Buffer.byteLength(header.key, 'utf8'));
    pos += buf.write(header.key, pos, 'utf8');
    pos = writeBytes(buf, pos, header.value);
  }
  return pos;
}

/**
 * Where encodeBatch writes: uncompressed batches are cut one after another from a slab, so encoding a
 * small batch allocates nothing of its own (a compressed batch's records use the slab as scratch). A part
 * handed out is never written again: a batch stays intact while its holder keeps it, which keeps its
 * slab alive. A batch that outgrows a slab is written into a buffer of its own.
 */
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.alloc(0);
let slabUsed = 0;

/**
 * A buffer with room for `needed` more bytes after the batch written in `buf[start, end)`, which it
 * carries over to its start: a fresh slab when the batch stays small next to one, else a buffer of the
 * batch's own (twice as big as needed, up to the largest batch, so growing copies each byte a bounded
 * number of times).
 */
function grow(buf: Buffer, start: number, end: number, needed: number): Buffer {
  const written = end - start;
  checkRecordsSize(written - RECORD_BATCH_OVERHEAD + needed);
  const ownSlab = written + needed <= SLAB_BYTES / 2;
  const grown = Buffer.allocUnsafeSlow(ownSlab ? SLAB_BYTES : Math.min(2 * (written + needed), LOG_OVERHEAD + MAX_INT32));
  buf.copy(grown, 0, start, end);
  if (ownSlab) {
    slab = grown;
    slabUsed = 0;
  }
  return grown;
}

function batchAttributes(input: BatchInput, compression: CompressionType): number {
  let attributes = compressionCodecId(compression);
  if (input.timestampType === 'log-append') attributes |= TIMESTAMP_TYPE_MASK;
  if (input.isTransactional === true) attributes |= TRANSACTIONAL_FLAG_MASK;
  if (input.isControl === true) attributes |= CONTROL_FLAG_MASK;
  return attributes;
}

/**
 * Encodes one batch. baseTimestamp is the first record's timestamp and maxTimestamp the largest, as Kafka's
 * producer writes them; offset deltas are 0..n-1 unless records give theirs (compaction keeps original offsets,
 * leaving gaps). At least one record is required. An uncompressed batch may share its memory with other
 * batches encodeBatch returned (never overlapping them): a holder that keeps a small batch for long
 * should keep a copy, so as not to keep a whole slab alive.
 */
export function encodeBatch(input: BatchInput): Buffer {
  const records = input.records;
  const count = records.length;
  const baseOffset = input.baseOffset;
  const partitionLeaderEpoch = input.partitionLeaderEpoch ?? 0;
  const producerId = input.producerId ?? NO_PRODUCER_ID;
  const producerEpoch = input.producerEpoch ?? NO_PRODUCER_EPOCH;
  const baseSequence = input.baseSequence ?? NO_SEQUENCE;
  const compression = input.compression ?? 'none';
  const lastOffsetDelta = records.at(-1)?.offsetDelta ?? count - 1;
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || !Number.isSafeInteger(baseOffset + lastOffsetDelta + 1)) {
    throw invalid(`baseOffset must be a non-negative safe integer, got ${baseOffset}.`);
  }
  if (!isInt32(partitionLeaderEpoch)) throw invalid(`partitionLeaderEpoch must be an int32, got ${partitionLeaderEpoch}.`);
  if (!Number.isSafeInteger(producerId)) throw invalid(`producerId must be a safe integer, got ${producerId}.`);
  if (!isInt16(producerEpoch)) throw invalid(`producerEpoch must be an int16, got ${producerEpoch}.`);
  if (!isInt32(baseSequence)) throw invalid(`baseSequence must be an int32, got ${baseSequence}.`);
  if (!COMPRESSION_TYPES.includes(compression)) throw invalid(`Unknown compression ${compression}.`);

  checkRecordCount(count);
  const baseTimestamp = records[0]!.timestamp;
  let maxTimestamp = baseTimestamp;
  // Each record is measured and written in one pass, into the slab at the place the batch takes.
  if (slab.length - slabUsed < RECORD_BATCH_OVERHEAD + MAX_VARINT_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  let out: Buffer = slab;
  let start = slabUsed;
  let pos = start + RECORDS_OFFSET;
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const delta = offsetDeltaAt(records, i, previousDelta);
    previousDelta = delta;
    const body = recordBodySize(record, delta, baseTimestamp);
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    if (out.length - pos < MAX_VARINT_BYTES + body) {
      out = grow(out, start, pos, varintSize(body) + body);
      pos -= start;
      start = 0;
    }
    pos = writeRecord(out, pos, record, body, delta, baseTimestamp);
  }
  const recordsStart = start + RECORDS_OFFSET;
  checkRecordsSize(pos - recordsStart);

  let buf: Buffer;
  if (compression === 'none') {
    buf = out.subarray(start, pos);
    if (out === slab) slabUsed = (pos + 7) & ~7;
  } else {
    const compressed = compress(compression, out.subarray(recordsStart, pos));
    if (compressed.length > MAX_INT32 - MIN_BATCH_LENGTH) {
      throw new OnelogError('RECORD_TOO_LARGE', `Compressed records of ${compressed.length} bytes do not fit in one batch.`);
    }
    buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + compressed.length);
    buf.set(compressed, RECORDS_OFFSET);
  }

  writeInt64(buf, BASE_OFFSET_OFFSET, baseOffset);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, LENGTH_OFFSET);
  buf.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  buf[MAGIC_OFFSET] = CURRENT_MAGIC_VALUE;
  buf.writeInt16BE(batchAttributes(input, compression), ATTRIBUTES_OFFSET);
  buf.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeInt64(buf, PRODUCER_ID_OFFSET, producerId);
  buf.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(baseSequence, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(count, RECORDS_COUNT_OFFSET);
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET), CRC_OFFSET);
  return buf;
}

// ---- reading ----

/**
 * LOG_OVERHEAD + batchLength of the batch at `position`, or -1 when fewer than LOG_OVERHEAD bytes are
 * there. The length field is not validated: a result below RECORD_BATCH_OVERHEAD means damage (or zeros).
 */
export function batchTotalSize(buf: Uint8Array, position = 0): number {
  checkPosition(position);
  if (buf.length - position < LOG_OVERHEAD) return -1;
  return LOG_OVERHEAD + asBuffer(buf).readInt32BE(position + LENGTH_OFFSET);
}

/**
 * The fixed fields of the batch at `position`, without checking the CRC. CORRUPT_BATCH when fewer than 61
 * bytes are there, the magic is not 2, batchLength is below 49, recordCount is negative or an int64 field
 * is not a safe integer; UNSUPPORTED_COMPRESSION for codec ids 5..7.
 */
export function readBatchHeader(buf: Uint8Array, position = 0): BatchHeader {
  checkPosition(position);
  if (buf.length - position < RECORD_BATCH_OVERHEAD) throw corrupt(position, `fewer than ${RECORD_BATCH_OVERHEAD} bytes`);
  const b = asBuffer(buf);
  const magic = b.readInt8(position + MAGIC_OFFSET);
  if (magic !== CURRENT_MAGIC_VALUE) throw corrupt(position, `magic ${magic} is not ${CURRENT_MAGIC_VALUE}`);
  const batchLength = b.readInt32BE(position + LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) throw corrupt(position, `batchLength ${batchLength} is below ${MIN_BATCH_LENGTH}`);
  const recordCount = b.readInt32BE(position + RECORDS_COUNT_OFFSET);
  if (recordCount < 0) throw corrupt(position, `negative record count ${recordCount}`);
  const attributes = b.readInt16BE(position + ATTRIBUTES_OFFSET);
  return {
    baseOffset: readInt64(b, position + BASE_OFFSET_OFFSET, position, 'baseOffset'),
    batchLength,
    partitionLeaderEpoch: b.readInt32BE(position + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: b.readUInt32BE(position + CRC_OFFSET),
    attributes,
    compression: compressionFromCodecId(attributes & COMPRESSION_CODEC_MASK, position),
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) === 0 ? 'create' : 'log-append',
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    lastOffsetDelta: b.readInt32BE(position + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(b, position + BASE_TIMESTAMP_OFFSET, position, 'baseTimestamp'),
    maxTimestamp: readInt64(b, position + MAX_TIMESTAMP_OFFSET, position, 'maxTimestamp'),
    producerId: readInt64(b, position + PRODUCER_ID_OFFSET, position, 'producerId'),
    producerEpoch: b.readInt16BE(position + PRODUCER_EPOCH_OFFSET),
    baseSequence: b.readInt32BE(position + BASE_SEQUENCE_OFFSET),
    recordCount,
  };
}

/** Position just past the batch at `position`, or CORRUPT_BATCH when the buffer ends before it. */
function batchEnd(buf: Uint8Array, position: number, batchLength: number): number {
  const end = position + LOG_OVERHEAD + batchLength;
  if (end > buf.length) throw corrupt(position, `batch of ${LOG_OVERHEAD + batchLength} bytes runs past the end of the buffer`);
  return end;
}

function storedCrcMatches(buf: Uint8Array, position: number, end: number): boolean {
  const b = asBuffer(buf);
  return b.readUInt32BE(position + CRC_OFFSET) === crc32c(b, position + ATTRIBUTES_OFFSET, end);
}

/**
 * Whether the stored CRC-32C matches the bytes from attributes to the end of the batch. Never throws for
 * damage: false also when the batch is shorter than its header, its batchLength is below 49 or it runs
 * past the end of `buf`. Nothing else (magic, codec, field ranges) is checked.
 */
export function verifyBatchCrc(buf: Uint8Array, position = 0): boolean {
  checkPosition(position);
  if (buf.length - position < RECORD_BATCH_OVERHEAD) return false;
  const batchLength = asBuffer(buf).readInt32BE(position + LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH || batchLength > buf.length - position - LOG_OVERHEAD) return false;
  return storedCrcMatches(buf, position, position + LOG_OVERHEAD + batchLength);
}

/** Reads a varint length (-1: null) and checks that that many bytes follow; the cursor is left at them. */
function readLength(data: Buffer, cursor: VarintCursor, what: string): number {
  const length = readVarint(data, cursor);
  if (length < -1) throw corrupt(cursor.origin, `${what} length ${length}`);
  if (length > cursor.end - cursor.pos) throw corrupt(cursor.origin, `${what} of ${length} bytes runs past its record`);
  return length;
}

function readBytes(data: Buffer, cursor: VarintCursor, what: string): Buffer | null {
  const length = readLength(data, cursor, what);
  if (length === -1) return null;
  const start = cursor.pos;
  cursor.pos = start + length;
  return data.subarray(start, start + length);
}

/** A record's headers, or null when it has none (most records), so that case allocates nothing. */
function readHeaders(data: Buffer, cursor: VarintCursor): RecordHeader[] | null {
  const count = readVarint(data, cursor);
  if (count < 0) throw corrupt(cursor.origin, `negative header count ${count}`);
  if (count === 0) return null;
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyLength = readHeaderKeyLength(data, cursor);
    const start = cursor.pos;
    cursor.pos = start + keyLength;
    const key = data.toString('utf8', start, start + keyLength);
    headers.push({ key, value: readBytes(data, cursor, 'header value') });
  }
  return headers;
}

/** A header key's length, checked to fit in its record; the cursor is left at the key. */
function readHeaderKeyLength(data: Buffer, cursor: VarintCursor): number {
  const keyLength = readVarint(data, cursor);
  if (keyLength < 0 || keyLength > cursor.end - cursor.pos) throw corrupt(cursor.origin, `header key length ${keyLength}`);
  return keyLength;
}

/** Moves the cursor past a record's headers, checking their lengths as readHeaders does, allocating nothing. */
function skipHeaders(data: Buffer, cursor: VarintCursor): void {
  const count = readVarint(data, cursor);
  if (count < 0) throw corrupt(cursor.origin, `negative header count ${count}`);
  for (let i = 0; i < count; i++) {
    // Each length is read (moving the cursor past its varint) before the cursor moves past its bytes.
    const keyLength = readHeaderKeyLength(data, cursor);
    cursor.pos += keyLength;
    const valueLength = readLength(data, cursor, 'header value');
    cursor.pos += Math.max(0, valueLength);
  }
}

/** A batch checked and opened for decoding: its header and where its (decompressed) records lie in `data`. */
interface OpenBatch {
  readonly header: BatchHeader;
  readonly data: Buffer;
  readonly start: number;
  readonly stop: number;
}

/** Reads the header of the batch at `position`, verifies its CRC and decompresses its records. */
function openBatch(buf: Uint8Array, position: number): OpenBatch {
  const header = readBatchHeader(buf, position);
  const end = batchEnd(buf, position, header.batchLength);
  if (!storedCrcMatches(buf, position, end)) throw corrupt(position, 'CRC mismatch');
  if (header.compression === 'none') return { header, data: asBuffer(buf), start: position + RECORDS_OFFSET, stop: end };
  const data = decompress(header.compression, buf.subarray(position + RECORDS_OFFSET, end), position);
  return { header, data, start: 0, stop: data.length };
}

/** decodeRecordsInto, collecting the records as DecodedRecords (headers [] when there are none). */
export function decodeRecords(buf: Uint8Array, position = 0): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  decodeRecordsInto(buf, position, {
    record(offset, timestamp, key, value, headers, attributes) {
      records.push({ offset, timestamp, key, value, headers: headers ?? [], attributes });
    },
  });
  return records;
}

/**
 * What decodeRecordsInto hands each record to, as arguments rather than an object, so that a reader
 * building its own shape (the client's KafkaMessage) makes one object per record, not two.
 */
export interface RecordVisitor {
  /** One record, in batch order; `headers` is null when the record has none. */
  record(offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[] | null, attributes: number): void;
}

/**
 * What scanRecordKeys hands each record to: its key as `keyLength` bytes of `data` from `keyStart`
 * (keyLength -1: a null key), and whether its value is null. Nothing is allocated per record.
 */
export interface RecordKeyVisitor {
  /** One record, in batch order; `data` is the batch's buffer, or its decompressed records. */
  record(offset: number, timestamp: number, data: Buffer, keyStart: number, keyLength: number, valueIsNull: boolean): void;
}

/**
 * Verifies the CRC of the batch at `position`, decompresses it and hands each record to `visitor` in batch
 * order (decodeRecords collects them). Keys, values and header values are views into `buf` when the batch
 * is uncompressed. An inconsistency between the record count, the record lengths and the bytes present is
 * CORRUPT_BATCH, reported after the records before it were handed over.
 */
export function decodeRecordsInto(buf: Uint8Array, position: number, visitor: RecordVisitor): void {
  visitRecords(buf, position, visitor, null);
}

/**
 * decodeRecordsInto for readers of keys alone (compaction): each record's key as a range of bytes and
 * whether its value is null, with the same checks, and no Buffer, header or object made per record.
 */
export function scanRecordKeys(buf: Uint8Array, position: number, visitor: RecordKeyVisitor): void {
  visitRecords(buf, position, null, visitor);
}

/** The record loop of decodeRecordsInto (`full`) and scanRecordKeys (`keys`): exactly one of them is given. */
function visitRecords(buf: Uint8Array, position: number, full: RecordVisitor | null, keys: RecordKeyVisitor | null): void {
  const { header, data, start, stop } = openBatch(buf, position);
  const baseOffset = header.baseOffset;
  const baseTimestamp = header.baseTimestamp;
  const logAppendTime = header.timestampType === 'log-append';
  const lastOffsetDelta = header.lastOffsetDelta;
  const count = header.recordCount;
  const cursor: VarintCursor = { pos: start, end: stop, origin: position };
  for (let i = 0; i < count; i++) {
    cursor.end = stop;
    const length = readVarint(data, cursor);
    const bodyStart = cursor.pos;
    if (length < 1 || length > stop - bodyStart) throw corrupt(position, `record ${i} has length ${length}`);
    const recordEnd = bodyStart + length;
    cursor.end = recordEnd;
    const attributes = data[bodyStart]!;
    cursor.pos = bodyStart + 1;
    const timestampDelta = readVarlong(data, cursor);
    const offsetDelta = readVarint(data, cursor);
    if (offsetDelta < 0 || offsetDelta > lastOffsetDelta) throw corrupt(position, `record ${i} has offset delta ${offsetDelta}`);
    const timestamp = logAppendTime ? header.maxTimestamp : baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) throw corrupt(position, `record ${i} timestamp is outside the safe integer range`);
    if (keys !== null) {
      const keyLength = readLength(data, cursor, 'key');
      const keyStart = cursor.pos;
      cursor.pos += Math.max(0, keyLength);
      const valueLength = readLength(data, cursor, 'value');
      cursor.pos += Math.max(0, valueLength);
      skipHeaders(data, cursor);
      if (cursor.pos !== recordEnd) throw corrupt(position, `record ${i} declares ${length} bytes but holds ${cursor.pos - bodyStart}`);
      keys.record(baseOffset + offsetDelta, timestamp, data, keyStart, keyLength, valueLength === -1);
    } else {
      const key = readBytes(data, cursor, 'key');
      const value = readBytes(data, cursor, 'value');
      const headers = readHeaders(data, cursor);
      if (cursor.pos !== recordEnd) throw corrupt(position, `record ${i} declares ${length} bytes but holds ${cursor.pos - bodyStart}`);
      full!.record(baseOffset + offsetDelta, timestamp, key, value, headers, attributes);
    }
  }
  if (cursor.pos !== stop) throw corrupt(position, `${stop - cursor.pos} bytes follow the last of ${count} records`);
}

// ---- in-place edits ----

function checkHeaderRoom(buf: Uint8Array, position: number): Buffer {
  checkPosition(position);
  if (buf.length - position < RECORD_BATCH_OVERHEAD) throw invalid(`No batch header at ${position}: fewer than ${RECORD_BATCH_OVERHEAD} bytes.`);
  return asBuffer(buf);
}

/** Rewrites baseOffset in place; it is outside the CRC, so the batch stays valid. */
export function setBaseOffset(buf: Uint8Array, position: number, baseOffset: number): void {
  const b = checkHeaderRoom(buf, position);
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw invalid(`baseOffset must be a non-negative safe integer, got ${baseOffset}.`);
  writeInt64(b, position + BASE_OFFSET_OFFSET, baseOffset);
}

/** Rewrites partitionLeaderEpoch in place; it is outside the CRC, so the batch stays valid. */
export function setPartitionLeaderEpoch(buf: Uint8Array, position: number, epoch: number): void {
  const b = checkHeaderRoom(buf, position);
  if (!isInt32(epoch)) throw invalid(`partitionLeaderEpoch must be an int32, got ${epoch}.`);
  b.writeInt32BE(epoch, position + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Marks the batch as log-append time with maxTimestamp = `timestamp` and recomputes its CRC, as a broker
 * does for a LogAppendTime topic; readers then report `timestamp` for every record of the batch.
 */
export function setLogAppendTime(buf: Uint8Array, position: number, timestamp: number): void {
  if (!Number.isSafeInteger(timestamp)) throw invalid(`timestamp must be a safe integer, got ${timestamp}.`);
  const header = readBatchHeader(buf, position);
  const end = batchEnd(buf, position, header.batchLength);
  if (header.timestampType === 'log-append' && header.maxTimestamp === timestamp) return;
  const b = asBuffer(buf);
  b.writeInt16BE(header.attributes | TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET);
  writeInt64(b, position + MAX_TIMESTAMP_OFFSET, timestamp);
  b.writeUInt32BE(crc32c(b, position + ATTRIBUTES_OFFSET, end), position + CRC_OFFSET);
}
