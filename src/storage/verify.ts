// Read-only structural checks of a onelog file (`onelog verify`) and the batch walk `onelog dump` shows:
// both superblocks, and for every partition each batch in its extents (length, magic, CRC, records that
// decode, offsets increasing from batch to batch and extent to extent (compaction leaves gaps), the committed tail reached
// exactly). The file header, the newest checkpoint and extent ownership are checked by Engine.open itself.
// It reads through Engine.layout/readRaw only: it never writes and never repairs.

import { OnelogError } from '../errors.ts';
import { SUPERBLOCK_POSITIONS, SUPERBLOCK_USED, decodeSuperblock } from '../format/file-layout.ts';
import {
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_OVERHEAD,
  decodeRecordsInto,
  readBatchHeader,
  verifyBatchCrc,
  type BatchHeader,
  type RecordVisitor,
} from '../format/record-batch.ts';
import type { DatabaseLayout, Engine, PartitionLayout } from './engine.ts';
import { extentDataEnd, extentStart, tailListIndex } from './partition-log.ts';

const WINDOW = 1024 * 1024;

/** One problem found: where in the file, in which partition, and what. */
export interface Damage {
  readonly position: number;
  readonly topic: string | null;
  readonly partition: number | null;
  readonly message: string;
}

/** A batch met by walkPartition; `bytes` holds it from `at` and is valid only during the visit. */
export interface WalkedBatch {
  readonly position: number;
  readonly size: number;
  readonly header: BatchHeader;
  readonly crcOk: boolean;
  readonly bytes: Buffer;
  readonly at: number;
}

export interface VerifyReport {
  readonly partitions: number;
  readonly batches: number;
  readonly records: number;
  readonly bytes: number;
  readonly damage: readonly Damage[];
  /** Harmless findings, e.g. a superblock slot torn by an interrupted checkpoint (its twin is in force). */
  readonly notes: readonly string[];
}

const IGNORE_RECORDS: RecordVisitor = {
  record(): void {
    // verify only needs the records to decode.
  },
};

/** Bytes of committed data in a partition's extents: what walkPartition reads. */
export function partitionDataBytes(layout: DatabaseLayout, p: PartitionLayout): number {
  let total = 0;
  const view = { extents: p.extents, tailPosition: p.tailPosition };
  for (let i = 0; i < p.extents.length; i++) total += extentDataEnd(layout, view, i) - extentStart(layout, p.extents[i]![0]);
  return total;
}

/** Reads an extent through a sliding window, so that a large extent is never read whole. */
class ExtentReader {
  readonly #engine: Engine;
  readonly #end: number;
  buf: Buffer = Buffer.alloc(0);
  start = 0;

  constructor(engine: Engine, end: number) {
    this.#engine = engine;
    this.#end = end;
  }

  /** Makes [pos, pos + length) available in buf (from buf index pos - start); false past the end. */
  ensure(pos: number, length: number): boolean {
    if (pos + length > this.#end) return false;
    if (pos >= this.start && pos + length <= this.start + this.buf.length) return true;
    this.start = pos;
    this.buf = this.#engine.readRaw(pos, Math.min(Math.max(WINDOW, length), this.#end - pos));
    return true;
  }
}

/**
 * Walks every committed batch of one partition, handing each to `visit` (damaged ones too, when their
 * length is plausible), and returns the damage found. `onBytes` hears of the bytes walked.
 */
export function walkPartition(engine: Engine, layout: DatabaseLayout, p: PartitionLayout, visit: (batch: WalkedBatch) => void, onBytes: (n: number) => void = () => undefined): Damage[] {
  const damage: Damage[] = [];
  const report = (position: number, message: string): void => {
    damage.push({ position, topic: p.topic, partition: p.partition, message: `${p.topic}-${String(p.partition)}: ${message}` });
  };
  if (p.extents.length === 0) return damage;
  const view = { extents: p.extents, tailPosition: p.tailPosition };
  const tailIndex = tailListIndex(layout, p.extents, p.tailPosition);
  if (tailIndex !== p.extents.length - 1) {
    report(p.tailPosition, `the committed tail (position ${String(p.tailPosition)}) is not in the partition's last extent`);
  }
  let expected = p.extents[0]![1];
  for (let i = 0; i < p.extents.length; i++) {
    const [index, firstOffset] = p.extents[i]!;
    const start = extentStart(layout, index);
    const end = extentDataEnd(layout, view, i);
    const isTail = i === tailIndex;
    const reader = new ExtentReader(engine, end);
    let pos = start;
    let intact = true;
    // Offsets may skip ahead (compaction leaves gaps) but never go back.
    if (end > start && firstOffset < expected) {
      report(start, `extent ${String(index)} is listed as starting at offset ${String(firstOffset)}, but the log before it ends at ${String(expected)}`);
    }
    if (firstOffset > expected || end > start) expected = firstOffset;
    while (pos + RECORD_BATCH_OVERHEAD <= end) {
      reader.ensure(pos, RECORD_BATCH_OVERHEAD);
      let at = pos - reader.start;
      const batchLength = reader.buf.readInt32BE(at + LENGTH_OFFSET);
      const magic = reader.buf[at + MAGIC_OFFSET];
      if (batchLength < MIN_BATCH_LENGTH || magic !== 2) {
        // Zeros mark the clean end of a full extent; anything else (or a stop before the tail) is damage.
        const zeros = reader.buf.subarray(at, at + RECORD_BATCH_OVERHEAD).every((b) => b === 0);
        if (isTail || !zeros) report(pos, `no valid batch header at position ${String(pos)} (batchLength ${String(batchLength)}, magic ${String(magic)})`);
        intact = !isTail && zeros;
        break;
      }
      const size = LOG_OVERHEAD + batchLength;
      if (!reader.ensure(pos, size)) {
        report(pos, `the batch at position ${String(pos)} claims ${String(size)} bytes, past the end of its ${isTail ? 'committed data' : 'extent'} (${String(end)})`);
        intact = false;
        break;
      }
      at = pos - reader.start;
      let header: BatchHeader;
      try {
        header = readBatchHeader(reader.buf, at);
      } catch (err) {
        report(pos, `the batch header at position ${String(pos)} is unreadable: ${err instanceof Error ? err.message : String(err)}`);
        intact = false;
        break;
      }
      if (header.baseOffset < expected) {
        report(pos, `the batch at position ${String(pos)} starts at offset ${String(header.baseOffset)}, expected ${String(expected)} or above`);
      }
      const crcOk = verifyBatchCrc(reader.buf, at);
      if (!crcOk) {
        report(pos, `CRC mismatch in the batch at position ${String(pos)} (offsets ${String(header.baseOffset)}-${String(header.baseOffset + header.lastOffsetDelta)}, ${String(size)} bytes)`);
      } else {
        try {
          decodeRecordsInto(reader.buf, at, IGNORE_RECORDS);
        } catch (err) {
          if (!(err instanceof OnelogError)) throw err;
          report(pos, `the records of the batch at position ${String(pos)} do not decode: ${err.message}`);
        }
      }
      visit({ position: pos, size, header, crcOk, bytes: reader.buf, at });
      onBytes(size);
      expected = header.baseOffset + header.lastOffsetDelta + 1;
      pos += size;
    }
    onBytes(end - pos);
    if (isTail && intact && pos !== p.tailPosition) report(pos, `the batches end at position ${String(pos)}, not at the committed tail ${String(p.tailPosition)}`);
    if (!intact && i + 1 < p.extents.length) expected = p.extents[i + 1]![1];
  }
  if (expected !== p.nextOffset && damage.length === 0) {
    report(p.tailPosition, `the log ends at offset ${String(expected)} but the highWatermark is ${String(p.nextOffset)}`);
  }
  return damage;
}

/**
 * Checks the whole file. `onProgress(done, total)` hears of the bytes of batch data checked so far.
 * Damage is reported, never thrown; opening the file (Engine.open) already refused a damaged header or a
 * file without a valid checkpoint.
 */
export function verifyDatabase(engine: Engine, onProgress: (done: number, total: number) => void = () => undefined): VerifyReport {
  const layout = engine.layout();
  const damage: Damage[] = [];
  const notes: string[] = [];
  for (const position of SUPERBLOCK_POSITIONS) {
    const bytes = engine.readRaw(position, SUPERBLOCK_USED);
    if (decodeSuperblock(bytes) === null && bytes.some((b) => b !== 0)) {
      notes.push(`the superblock slot at position ${String(position)} does not check out (a torn checkpoint write); the other slot is in force`);
    }
  }
  const total = layout.partitions.reduce((sum, p) => sum + partitionDataBytes(layout, p), 0);
  let done = 0;
  let batches = 0;
  let records = 0;
  for (const p of layout.partitions) {
    const found = walkPartition(
      engine,
      layout,
      p,
      (b) => {
        batches++;
        records += b.header.recordCount;
      },
      (n) => {
        done += n;
        onProgress(done, total);
      },
    );
    damage.push(...found);
  }
  return { partitions: layout.partitions.length, batches, records, bytes: total, damage, notes };
}
