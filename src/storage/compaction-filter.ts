// Compaction's record-level work on stored batches, with no I/O: folding a batch's keys into the
// latest-offset map, testing whether a batch holds a record to drop, and rewriting a batch to only the
// records kept (each keeps its offset, timestamp and headers; the batch keeps its baseOffset, producer
// fields and compression). It does not decide which records to keep: the engine's predicate does.

import { decodeRecords, encodeBatch, scanRecordKeys, type BatchHeader } from '../format/record-batch.ts';
import type { KeyOffsetMap } from './key-offset-map.ts';

/** Whether compaction keeps a record whose key is `keyLength` bytes of `data` from `keyStart` (keyLength -1: a null key). */
export type KeepRecord = (offset: number, timestamp: number, data: Uint8Array, keyStart: number, keyLength: number, valueIsNull: boolean) => boolean;

const NO_BYTES = new Uint8Array(0);

/**
 * Folds the keyed records at or above `logStartOffset` of the data batch at `position` into `latest`;
 * returns true when a key already there got a newer offset (so an extent found clean may hold a record
 * to drop again).
 */
export function foldKeys(buf: Buffer, position: number, latest: KeyOffsetMap, logStartOffset: number): boolean {
  let superseded = false;
  scanRecordKeys(buf, position, {
    record(offset, _timestamp, data, keyStart, keyLength) {
      if (keyLength >= 0 && offset >= logStartOffset && latest.raise(data, keyStart, keyLength, offset)) superseded = true;
    },
  });
  return superseded;
}

/** True when compaction drops a record of the batch at `position`: a control batch wholly below logStartOffset, or a record `keep` rejects. */
export function dropsRecords(buf: Buffer, position: number, header: BatchHeader, keep: KeepRecord, logStartOffset: number): boolean {
  if (header.isControl) return header.baseOffset + header.lastOffsetDelta < logStartOffset;
  let drops = false;
  scanRecordKeys(buf, position, {
    record(offset, timestamp, data, keyStart, keyLength, valueIsNull) {
      if (!drops && !keep(offset, timestamp, data, keyStart, keyLength, valueIsNull)) drops = true;
    },
  });
  return drops;
}

/**
 * The batch at `position` (`size` bytes) as compaction leaves it: its stored bytes when every record is
 * kept, null when none is, else re-encoded from the kept records; and how many records were removed.
 */
export function keptBatch(buf: Buffer, position: number, size: number, header: BatchHeader, keep: KeepRecord, logStartOffset: number): { bytes: Buffer | null; removed: number } {
  const stored = buf.subarray(position, position + size);
  if (header.isControl) return { bytes: header.baseOffset + header.lastOffsetDelta < logStartOffset ? null : stored, removed: 0 };
  const records = decodeRecords(buf, position);
  const kept = records.filter((r) => keep(r.offset, r.timestamp, r.key ?? NO_BYTES, 0, r.key === null ? -1 : r.key.length, r.value === null));
  const removed = records.length - kept.length;
  if (removed === 0) return { bytes: stored, removed };
  if (kept.length === 0) return { bytes: null, removed };
  const bytes = encodeBatch({
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - header.baseOffset })),
    compression: header.compression,
    timestampType: header.timestampType,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    isTransactional: header.isTransactional,
  });
  return { bytes, removed };
}
