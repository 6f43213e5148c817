// Byte layout of a onelog file's fixed areas: file header, the two alternating superblocks, the commit
// header and the per-partition tail slots. Pure encode/decode of those structures (little-endian, CRC32C
// protected); it does no I/O and knows nothing of the engine's state machine. docs/FORMAT.md is the spec.

import { OnelogError } from '../errors.ts';
import { crc32c } from './crc32c.ts';

export const FILE_MAGIC = Buffer.from('onelog\n\x1a', 'latin1');
export const FORMAT_VERSION = 1;

// File header, at position 0.
export const HEADER_POSITION = 0;
export const HEADER_SIZE = 4096;
export const MAGIC_OFFSET = 0;
export const MAGIC_LENGTH = 8;
export const VERSION_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
export const VERSION_LENGTH = 4;
export const EXTENT_SIZE_OFFSET = VERSION_OFFSET + VERSION_LENGTH;
export const EXTENT_SIZE_LENGTH = 4;
export const DATA_START_OFFSET = EXTENT_SIZE_OFFSET + EXTENT_SIZE_LENGTH;
export const DATA_START_LENGTH = 4;
export const DATABASE_ID_OFFSET = DATA_START_OFFSET + DATA_START_LENGTH;
export const DATABASE_ID_LENGTH = 16;
export const CREATED_AT_OFFSET = DATABASE_ID_OFFSET + DATABASE_ID_LENGTH;
export const CREATED_AT_LENGTH = 8;
export const HEADER_CRC_OFFSET = CREATED_AT_OFFSET + CREATED_AT_LENGTH;
export const HEADER_CRC_LENGTH = 4;
export const HEADER_USED = HEADER_CRC_OFFSET + HEADER_CRC_LENGTH;

// Superblocks: two alternating copies; the valid one with the higher sequence is current.
export const SUPERBLOCK_POSITIONS = [4096, 8192] as const;
export const SUPERBLOCK_SIZE = 4096;
export const SUPERBLOCK_MAGIC = 0x4253_4c4f; // "OLSB" little-endian
export const SB_MAGIC_OFFSET = 0;
export const SB_MAGIC_LENGTH = 4;
export const SB_RESERVED_OFFSET = SB_MAGIC_OFFSET + SB_MAGIC_LENGTH;
export const SB_RESERVED_LENGTH = 4;
export const SB_SEQUENCE_OFFSET = SB_RESERVED_OFFSET + SB_RESERVED_LENGTH;
export const SB_SEQUENCE_LENGTH = 8;
export const SB_META_POSITION_OFFSET = SB_SEQUENCE_OFFSET + SB_SEQUENCE_LENGTH;
export const SB_META_POSITION_LENGTH = 8;
export const SB_META_LENGTH_OFFSET = SB_META_POSITION_OFFSET + SB_META_POSITION_LENGTH;
export const SB_META_LENGTH_LENGTH = 4;
export const SB_META_CRC_OFFSET = SB_META_LENGTH_OFFSET + SB_META_LENGTH_LENGTH;
export const SB_META_CRC_LENGTH = 4;
export const SB_EXTENT_COUNT_OFFSET = SB_META_CRC_OFFSET + SB_META_CRC_LENGTH;
export const SB_EXTENT_COUNT_LENGTH = 4;
export const SB_CRC_OFFSET = SB_EXTENT_COUNT_OFFSET + SB_EXTENT_COUNT_LENGTH;
export const SB_CRC_LENGTH = 4;
export const SUPERBLOCK_USED = SB_CRC_OFFSET + SB_CRC_LENGTH;

// Lock bytes (advisory OFD locks only; never read or written).
export const LOCK_WRITE = { position: 12288, length: 1 } as const;
export const LOCK_PENDING = { position: 12289, length: 1 } as const;
export const LOCK_OPEN = { position: 12290, length: 1 } as const;

// Slot area: slot 0 is the commit header, slots 1.. are partition tail slots.
export const SLOT_AREA_POSITION = 16384;
export const SLOT_SIZE = 32;
export const DATA_START = 1 << 20;
export const SLOT_COUNT = (DATA_START - SLOT_AREA_POSITION) / SLOT_SIZE;

export const COMMIT_HEADER_MAGIC = 0x4843_4c4f; // "OLCH" little-endian
export const CH_MAGIC_OFFSET = 0;
export const CH_WRITER_STATE_OFFSET = 4;
export const CH_COMMIT_SEQUENCE_OFFSET = 8;
export const CH_META_SEQUENCE_OFFSET = 16;
export const CH_RESERVED_OFFSET = 24;
export const CH_CRC_OFFSET = 28;

export const SLOT_UID_OFFSET = 0;
export const SLOT_RESERVED_OFFSET = 4;
export const SLOT_NEXT_OFFSET_OFFSET = 8;
export const SLOT_TAIL_POSITION_OFFSET = 16;
export const SLOT_RESERVED2_OFFSET = 24;
export const SLOT_CRC_OFFSET = 28;

export const MIN_EXTENT_SIZE = 64 * 1024;
export const MAX_EXTENT_SIZE = 1024 * 1024 * 1024;
export const DEFAULT_EXTENT_SIZE = 4 * 1024 * 1024;

export function slotPosition(slot: number): number {
  return SLOT_AREA_POSITION + slot * SLOT_SIZE;
}

export function extentPosition(dataStart: number, extentSize: number, index: number): number {
  return dataStart + index * extentSize;
}

export function writeUint64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

export function readUint64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

export interface FileHeader {
  readonly formatVersion: number;
  readonly extentSize: number;
  readonly dataStart: number;
  readonly databaseId: string;
  readonly createdAt: number;
}

export function encodeFileHeader(header: FileHeader): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE);
  FILE_MAGIC.copy(buf, MAGIC_OFFSET);
  buf.writeUInt32LE(header.formatVersion, VERSION_OFFSET);
  buf.writeUInt32LE(header.extentSize, EXTENT_SIZE_OFFSET);
  buf.writeUInt32LE(header.dataStart, DATA_START_OFFSET);
  Buffer.from(header.databaseId.replaceAll('-', ''), 'hex').copy(buf, DATABASE_ID_OFFSET);
  writeUint64(buf, CREATED_AT_OFFSET, header.createdAt);
  buf.writeUInt32LE(crc32c(buf.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
  return buf;
}

function formatUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Decodes and checks the file header; `path` only serves the error messages. */
export function decodeFileHeader(buf: Buffer, path: string): FileHeader {
  if (buf.length < HEADER_USED || !buf.subarray(MAGIC_OFFSET, MAGIC_OFFSET + MAGIC_LENGTH).equals(FILE_MAGIC)) {
    throw new OnelogError('NOT_A_ONELOG_FILE', `${path} is not a onelog database (its first bytes are not the onelog magic): check the path.`);
  }
  const formatVersion = buf.readUInt32LE(VERSION_OFFSET);
  if (buf.readUInt32LE(HEADER_CRC_OFFSET) !== crc32c(buf.subarray(0, HEADER_CRC_OFFSET))) {
    throw new OnelogError('CORRUPT_FILE', `${path}: the file header checksum does not match; the file is damaged. Restore it from a backup.`, { position: HEADER_CRC_OFFSET });
  }
  if (formatVersion > FORMAT_VERSION) {
    throw new OnelogError('NEWER_FORMAT_VERSION', `${path} uses onelog file format version ${formatVersion}, newer than this onelog reads (${FORMAT_VERSION}): upgrade onelog to open it.`);
  }
  const extentSize = buf.readUInt32LE(EXTENT_SIZE_OFFSET);
  const dataStart = buf.readUInt32LE(DATA_START_OFFSET);
  if (extentSize < MIN_EXTENT_SIZE || extentSize > MAX_EXTENT_SIZE || (extentSize & (extentSize - 1)) !== 0 || dataStart !== DATA_START) {
    throw new OnelogError('CORRUPT_FILE', `${path}: the file header holds an impossible extent size or data start; the file is damaged.`, { position: EXTENT_SIZE_OFFSET });
  }
  return {
    formatVersion,
    extentSize,
    dataStart,
    databaseId: formatUuid(buf.subarray(DATABASE_ID_OFFSET, DATABASE_ID_OFFSET + DATABASE_ID_LENGTH).toString('hex')),
    createdAt: readUint64(buf, CREATED_AT_OFFSET),
  };
}

export interface Superblock {
  readonly sequence: number;
  readonly metaPosition: number;
  readonly metaLength: number;
  readonly metaCrc: number;
  readonly extentCount: number;
}

export function encodeSuperblock(sb: Superblock): Buffer {
  const buf = Buffer.alloc(SUPERBLOCK_USED);
  buf.writeUInt32LE(SUPERBLOCK_MAGIC, SB_MAGIC_OFFSET);
  writeUint64(buf, SB_SEQUENCE_OFFSET, sb.sequence);
  writeUint64(buf, SB_META_POSITION_OFFSET, sb.metaPosition);
  buf.writeUInt32LE(sb.metaLength, SB_META_LENGTH_OFFSET);
  buf.writeUInt32LE(sb.metaCrc, SB_META_CRC_OFFSET);
  buf.writeUInt32LE(sb.extentCount, SB_EXTENT_COUNT_OFFSET);
  buf.writeUInt32LE(crc32c(buf.subarray(0, SB_CRC_OFFSET)), SB_CRC_OFFSET);
  return buf;
}

/** Returns the superblock, or null when the bytes are not a valid one (torn, never written, damaged). */
export function decodeSuperblock(buf: Buffer): Superblock | null {
  if (buf.length < SUPERBLOCK_USED) return null;
  if (buf.readUInt32LE(SB_MAGIC_OFFSET) !== SUPERBLOCK_MAGIC) return null;
  if (buf.readUInt32LE(SB_CRC_OFFSET) !== crc32c(buf.subarray(0, SB_CRC_OFFSET))) return null;
  return {
    sequence: readUint64(buf, SB_SEQUENCE_OFFSET),
    metaPosition: readUint64(buf, SB_META_POSITION_OFFSET),
    metaLength: buf.readUInt32LE(SB_META_LENGTH_OFFSET),
    metaCrc: buf.readUInt32LE(SB_META_CRC_OFFSET),
    extentCount: buf.readUInt32LE(SB_EXTENT_COUNT_OFFSET),
  };
}

export interface CommitHeader {
  /** 1 while a writer holds the write lock and may have unpublished writes; 0 when it released cleanly. */
  readonly writerState: number;
  readonly commitSequence: number;
  readonly metaSequence: number;
}

export function encodeCommitHeader(ch: CommitHeader, buf: Buffer = Buffer.alloc(SLOT_SIZE)): Buffer {
  buf.writeUInt32LE(COMMIT_HEADER_MAGIC, CH_MAGIC_OFFSET);
  buf.writeUInt32LE(ch.writerState, CH_WRITER_STATE_OFFSET);
  writeUint64(buf, CH_COMMIT_SEQUENCE_OFFSET, ch.commitSequence);
  writeUint64(buf, CH_META_SEQUENCE_OFFSET, ch.metaSequence);
  buf.writeUInt32LE(0, CH_RESERVED_OFFSET);
  buf.writeUInt32LE(crc32c(buf.subarray(0, CH_CRC_OFFSET)), CH_CRC_OFFSET);
  return buf;
}

/** Returns null for a torn or never-written commit header (readers then retry or fall back). */
export function decodeCommitHeader(buf: Buffer): CommitHeader | null {
  if (buf.readUInt32LE(CH_MAGIC_OFFSET) !== COMMIT_HEADER_MAGIC) return null;
  if (buf.readUInt32LE(CH_CRC_OFFSET) !== crc32c(buf.subarray(0, CH_CRC_OFFSET))) return null;
  return {
    writerState: buf.readUInt32LE(CH_WRITER_STATE_OFFSET),
    commitSequence: readUint64(buf, CH_COMMIT_SEQUENCE_OFFSET),
    metaSequence: readUint64(buf, CH_META_SEQUENCE_OFFSET),
  };
}

export interface TailSlot {
  readonly partitionUid: number;
  readonly nextOffset: number;
  readonly tailPosition: number;
}

export function encodeTailSlot(slot: TailSlot, buf: Buffer, offset: number): void {
  buf.writeUInt32LE(slot.partitionUid, offset + SLOT_UID_OFFSET);
  buf.writeUInt32LE(0, offset + SLOT_RESERVED_OFFSET);
  writeUint64(buf, offset + SLOT_NEXT_OFFSET_OFFSET, slot.nextOffset);
  writeUint64(buf, offset + SLOT_TAIL_POSITION_OFFSET, slot.tailPosition);
  buf.writeUInt32LE(0, offset + SLOT_RESERVED2_OFFSET);
  buf.writeUInt32LE(crc32c(buf.subarray(offset, offset + SLOT_CRC_OFFSET)), offset + SLOT_CRC_OFFSET);
}

/** Returns null for a torn, zeroed or damaged slot. */
export function decodeTailSlot(buf: Buffer, offset: number): TailSlot | null {
  if (buf.readUInt32LE(offset + SLOT_CRC_OFFSET) !== crc32c(buf.subarray(offset, offset + SLOT_CRC_OFFSET))) return null;
  const partitionUid = buf.readUInt32LE(offset + SLOT_UID_OFFSET);
  if (partitionUid === 0) return null;
  return {
    partitionUid,
    nextOffset: readUint64(buf, offset + SLOT_NEXT_OFFSET_OFFSET),
    tailPosition: readUint64(buf, offset + SLOT_TAIL_POSITION_OFFSET),
  };
}
