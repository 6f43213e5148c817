// Reading a partition's log out of its extents: walking batch headers (chunked, never the whole extent at
// once), locating the batch that holds an offset, reading whole batches within a byte budget, and
// validating scans used by recovery. It reads through StorageFile only and never writes.

import type { ExtentEntry } from '../format/metadata.ts';
import {
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  verifyBatchCrc,
} from '../format/record-batch.ts';
import type { StorageFile } from './file-layer.ts';

const SCAN_CHUNK = 256 * 1024;

export interface Geometry {
  readonly dataStart: number;
  readonly extentSize: number;
}

export function extentStart(g: Geometry, index: number): number {
  return g.dataStart + index * g.extentSize;
}

/** True when `position` lies inside extent `index` or exactly at its end. */
export function positionInExtent(g: Geometry, index: number, position: number): boolean {
  const start = extentStart(g, index);
  return position >= start && position <= start + g.extentSize;
}

export interface ScannedBatch {
  readonly position: number;
  readonly size: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

export interface ScanResult {
  /** Position just past the last accepted batch. */
  readonly position: number;
  /** Offset after the last accepted batch (the expected offset when none was accepted). */
  readonly nextOffset: number;
}

function int64At(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/**
 * Walks batches from `start` up to `end` (one extent at most). With `expectedOffset` set, each batch must
 * start exactly there (a tail scan); with `verifyCrc`, its CRC must match. Stops at the first batch that
 * fails, at zeros, or when `visit` returns true.
 */
export function scanBatches(
  file: StorageFile,
  start: number,
  end: number,
  expectedOffset: number | null,
  verifyCrc: boolean,
  visit: (batch: ScannedBatch) => boolean | undefined,
): ScanResult {
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(end - start, LOG_OVERHEAD)));
  let bufStart = 0;
  let bufLen = 0;
  const ensure = (pos: number, length: number): boolean => {
    if (pos >= bufStart && pos + length <= bufStart + bufLen) return true;
    const want = Math.min(Math.max(length, SCAN_CHUNK), end - pos);
    if (want < length) return false;
    if (buf.length < want) buf = Buffer.allocUnsafe(want);
    bufStart = pos;
    bufLen = file.read(buf, 0, want, pos);
    return bufLen >= length;
  };
  let pos = start;
  let next = expectedOffset ?? -1;
  while (pos + RECORD_BATCH_OVERHEAD <= end) {
    if (!ensure(pos, RECORD_BATCH_OVERHEAD)) break;
    const batchLength = buf.readInt32BE(pos - bufStart + LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) break;
    const size = LOG_OVERHEAD + batchLength;
    if (pos + size > end) break;
    if (buf[pos - bufStart + MAGIC_OFFSET] !== 2) break;
    if (verifyCrc && !ensure(pos, size)) break;
    const at = pos - bufStart;
    const baseOffset = int64At(buf, at);
    if (expectedOffset !== null && baseOffset !== next) break;
    if (expectedOffset === null && baseOffset < next) break;
    if (verifyCrc && !verifyBatchCrc(buf, at)) break;
    let header;
    try {
      header = readBatchHeader(buf, at);
    } catch {
      break;
    }
    const lastOffset = baseOffset + header.lastOffsetDelta;
    const stop = visit({
      position: pos,
      size,
      baseOffset,
      lastOffset,
      maxTimestamp: header.maxTimestamp,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
    });
    next = lastOffset + 1;
    pos += size;
    if (stop === true) break;
  }
  return { position: pos, nextOffset: next };
}

export interface LogView {
  readonly extents: readonly ExtentEntry[];
  /** Committed end of the log: readers never go past it. */
  readonly tailPosition: number;
}

/**
 * Index into `extents` of the extent holding `tail`. The end of one extent can be the start of the next one
 * in the file, and both may be the partition's: the later one in the list is meant.
 */
export function tailListIndex(g: Geometry, extents: readonly ExtentEntry[], tail: number): number {
  for (let i = extents.length - 1; i >= 0; i--) if (positionInExtent(g, extents[i]![0], tail)) return i;
  return -1;
}

/**
 * End of committed data in the extent at `listIndex`: its end before the tail's extent, the tail in it, and
 * its start (nothing) after it.
 */
export function extentDataEnd(g: Geometry, view: LogView, listIndex: number): number {
  const start = extentStart(g, view.extents[listIndex]![0]);
  const tailIndex = tailListIndex(g, view.extents, view.tailPosition);
  if (listIndex < tailIndex) return start + g.extentSize;
  return listIndex === tailIndex ? view.tailPosition : start;
}

/** Index into view.extents of the last extent whose first offset is <= offset (0 when none). */
function extentFor(view: LogView, offset: number): number {
  let lo = 0;
  let hi = view.extents.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (view.extents[mid]![1] <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Position of the first batch whose last offset is >= offset, or -1 when none is committed. */
export function locate(file: StorageFile, g: Geometry, view: LogView, offset: number): number {
  for (let i = extentFor(view, offset); i < view.extents.length; i++) {
    const index = view.extents[i]![0];
    const end = extentDataEnd(g, view, i);
    let found = -1;
    scanBatches(file, extentStart(g, index), end, null, false, (b) => {
      if (b.lastOffset >= offset) {
        found = b.position;
        return true;
      }
      return false;
    });
    if (found >= 0) return found;
    if (end !== extentStart(g, index) + g.extentSize) return -1;
  }
  return -1;
}

export interface BatchRead {
  /** Whole batches, concatenated as stored. Empty when the extent holds nothing more at `position`. */
  readonly records: Buffer;
  /** Offset after the last returned batch (-1 when records is empty). */
  readonly nextOffset: number;
  /** Position just past the last returned batch. */
  readonly endPosition: number;
}

/**
 * Reads whole batches starting at `position` within one extent, up to `maxBytes` (at least one batch, as a
 * Kafka fetch does, even when it alone is larger). With `scratch` (of at least `maxBytes`), the batches are
 * read into it unless a single batch is larger, so the result is valid only until the caller reuses it.
 */
export function readBatches(file: StorageFile, g: Geometry, view: LogView, position: number, maxBytes: number, scratch?: Buffer): BatchRead {
  const index = Math.floor((position - g.dataStart) / g.extentSize);
  const listIndex = view.extents.findIndex(([e]) => e === index);
  if (listIndex < 0) return { records: Buffer.alloc(0), nextOffset: -1, endPosition: position };
  const end = extentDataEnd(g, view, listIndex);
  let length = Math.min(Math.max(maxBytes, RECORD_BATCH_OVERHEAD), end - position);
  if (length < RECORD_BATCH_OVERHEAD) return { records: Buffer.alloc(0), nextOffset: -1, endPosition: position };
  let buf = scratch !== undefined && scratch.length >= length ? scratch : Buffer.allocUnsafe(length);
  length = file.read(buf, 0, length, position);
  let p = 0;
  let nextOffset = -1;
  while (p + RECORD_BATCH_OVERHEAD <= length) {
    const batchLength = buf.readInt32BE(p + LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH || buf[p + MAGIC_OFFSET] !== 2) break;
    const size = LOG_OVERHEAD + batchLength;
    if (p + size > length) {
      if (p > 0 || position + size > end) break;
      const whole = Buffer.allocUnsafe(size);
      length = file.read(whole, 0, size, position);
      if (length < size) break;
      buf = whole;
    }
    nextOffset = int64At(buf, p) + buf.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET) + 1;
    p += size;
  }
  return { records: buf.subarray(0, p), nextOffset, endPosition: position + p };
}
