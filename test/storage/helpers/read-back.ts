// Test helpers reading a partition back through the engine's public API only: every readable record
// decoded to strings (offsets asserted to increase), or every stored batch byte for byte (CRCs checked).
import assert from 'node:assert/strict';
import type { Engine } from '../../../src/storage/engine.ts';
import { batchTotalSize, decodeRecords, readBatchHeader, verifyBatchCrc } from '../../../src/format/record-batch.ts';

export interface Rec {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: number;
}

/** Every readable record of partition 0 of `topic` from logStartOffset, checking offsets increase. */
export function readAll(db: Engine, topic: string): Rec[] {
  const out: Rec[] = [];
  const hw = db.highWatermark(topic, 0);
  for (let offset = db.logStartOffset(topic, 0); offset < hw; ) {
    const res = db.read(topic, 0, offset, { maxBytes: 64 * 1024 });
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      for (const r of decodeRecords(res.records, pos)) {
        assert.ok(out.length === 0 || r.offset > out.at(-1)!.offset, 'offsets must increase');
        out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
      }
    }
    offset = res.nextOffset;
  }
  return out;
}

/** Every stored batch of a partition from `from` to the highWatermark, by base offset, each CRC checked. */
export function batchesFrom(db: Engine, topic: string, partition: number, from: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const hw = db.highWatermark(topic, partition);
  for (let offset = from; offset < hw; ) {
    const res = db.read(topic, partition, offset, { maxBytes: 256 * 1024 });
    for (let pos = 0; pos < res.records.length; ) {
      const size = batchTotalSize(res.records, pos);
      const batch = Buffer.from(res.records.subarray(pos, pos + size));
      assert.ok(verifyBatchCrc(batch), `${topic}-${String(partition)}: CRC mismatch at offset ${String(offset)}`);
      out.set(readBatchHeader(batch).baseOffset, batch);
      pos += size;
    }
    offset = res.nextOffset;
  }
  return out;
}
