// The compression codecs of Kafka record batches (attribute bits 0-2): none, gzip, snappy, lz4, zstd, as
// synchronous whole-buffer transforms. Snappy is written with the xerial framing Kafka's Java client writes
// and read framed or raw; lz4 is the standard LZ4 frame. It must not do I/O, and every decoding failure
// surfaces as OnelogError CORRUPT_BATCH, never as a codec library's own error.

import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { OnelogError } from '../errors.ts';

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Codecs by their Kafka id (the value of attribute bits 0-2); ids 5..7 are unassigned. */
export const COMPRESSION_TYPES: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const CODEC_IDS: Readonly<Record<CompressionType, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** xerial snappy-java stream header: magic, then int32 BE version 1 and int32 BE compatible version 1. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = Buffer.from([...XERIAL_MAGIC, 0, 0, 0, 1, 0, 0, 0, 1]);
const XERIAL_HEADER_LENGTH = 16;
const XERIAL_BLOCK_SIZE = 32 * 1024;
/** A raw snappy block never expands more than 64 bytes of output per 3 bytes of input (a 2-byte-offset copy). */
const SNAPPY_MAX_EXPANSION = 22;
/**
 * Largest output gzip and zstd may inflate to: their ratio is unbounded, so a small hostile batch could
 * otherwise exhaust memory. (Snappy is bounded by SNAPPY_MAX_EXPANSION, lz4 frames by 255x.)
 */
export const MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;

export function compressionCodecId(type: CompressionType): number {
  return CODEC_IDS[type];
}

/** The codec for a Kafka codec id; ids 5..7 are UNSUPPORTED_COMPRESSION. */
export function compressionFromCodecId(id: number, position?: number): CompressionType {
  const type = COMPRESSION_TYPES[id];
  if (type === undefined) {
    throw new OnelogError('UNSUPPORTED_COMPRESSION', `Unsupported compression codec id ${id}.`, position === undefined ? {} : { position });
  }
  return type;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function compress(type: CompressionType, data: Uint8Array): Buffer {
  const input = asBuffer(data);
  switch (type) {
    case 'none':
      return input;
    case 'gzip':
      return gzipSync(input);
    case 'snappy':
      return xerialSnappyCompress(input);
    case 'lz4':
      return compressFrameSync(input);
    case 'zstd':
      return zstdCompressSync(input);
  }
}

/** Decompresses `data`; `position` (the batch's) is carried by the CORRUPT_BATCH error on failure. */
export function decompress(type: CompressionType, data: Uint8Array, position?: number): Buffer {
  const input = asBuffer(data);
  try {
    switch (type) {
      case 'none':
        return input;
      case 'gzip':
        return gunzipSync(input, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
      case 'snappy':
        return snappyDecompress(input);
      case 'lz4':
        return decompressFrameSync(input);
      case 'zstd':
        return zstdDecompressSync(input, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    }
  } catch (err) {
    throw new OnelogError('CORRUPT_BATCH', `Corrupt ${type} data in record batch: ${err instanceof Error ? err.message : String(err)}`, {
      ...(position === undefined ? {} : { position }),
      cause: err,
    });
  }
}

/** snappy-java's SnappyOutputStream format: the 16-byte header, then [int32 BE length][raw block] per 32 KiB. */
function xerialSnappyCompress(input: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (let start = 0; start < input.length; start += XERIAL_BLOCK_SIZE) {
    const block = snappyCompress(input.subarray(start, start + XERIAL_BLOCK_SIZE));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function hasXerialMagic(input: Buffer, at: number): boolean {
  return input.length - at >= XERIAL_HEADER_LENGTH && input.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, at, at + XERIAL_MAGIC.length) === 0;
}

/** Reads xerial-framed snappy (as Kafka's Java client writes it, concatenated streams included) or one raw block. */
function snappyDecompress(input: Buffer): Buffer {
  if (!hasXerialMagic(input, 0)) return rawSnappyDecompress(input);
  const blocks: Buffer[] = [];
  let pos = XERIAL_HEADER_LENGTH;
  while (pos < input.length) {
    if (hasXerialMagic(input, pos)) {
      pos += XERIAL_HEADER_LENGTH;
      continue;
    }
    if (input.length - pos < 4) throw new Error('truncated xerial snappy block length');
    const length = input.readInt32BE(pos);
    pos += 4;
    if (length < 0 || length > input.length - pos) throw new Error(`xerial snappy block length ${length} exceeds the data`);
    blocks.push(rawSnappyDecompress(input.subarray(pos, pos + length)));
    pos += length;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/** One raw snappy block, after checking its declared length is plausible (the library allocates it up front). */
function rawSnappyDecompress(input: Buffer): Buffer {
  let declared = 0;
  let pos = 0;
  for (let shift = 1; ; shift *= 0x80) {
    if (pos >= input.length || pos === 5) throw new Error('bad snappy length preamble');
    const b = input[pos++]!;
    declared += (b & 0x7f) * shift;
    if (b < 0x80) break;
  }
  if (declared > (input.length - pos) * SNAPPY_MAX_EXPANSION) throw new Error(`snappy block declares ${declared} bytes, more than its data can hold`);
  // With asBuffer the binding returns a Buffer; its declared type also covers the string mode.
  return snappyUncompress(input, { asBuffer: true }) as Buffer;
}
