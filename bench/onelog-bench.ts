// The system under test, "onelog": produce through Engine.append with one or many concurrent producers
// (batches spread over partitions round-robin by batch) and consume every partition from offset 0,
// decoding every record. It drives the public engine API only and must not reach into engine internals.

import path from 'node:path';
import { Engine } from '../src/storage/engine.ts';
import { batchTotalSize, decodeRecords } from '../src/format/record-batch.ts';
import { measure, ReadTally, recordCount, recordsAt, withTempDir, type RssTracker, type Sample } from './measure.ts';

export const TOPIC = 'bench';
const READ_MAX_BYTES = 1 << 20;

export type OnelogSync = 'none' | 'batch';

export interface ProduceShape {
  readonly sync: OnelogSync;
  readonly producers: number;
  readonly batchSize: number;
  readonly partitions: number;
}

export interface OnelogResult {
  readonly produce: Sample;
  /** Present when the consume was asked for: a read of the whole topic from a reopened engine. */
  readonly consume: Sample | undefined;
}

/**
 * Sends the payload in batches of `batchSize` with `producers` concurrent producers, each taking the next
 * unsent batch (made from the payload as it is sent) and awaiting its append before taking another;
 * batch b goes to partition b mod `partitions`.
 */
async function produce(engine: Engine, payload: Buffer, shape: ProduceShape, rss: RssTracker): Promise<void> {
  const total = recordCount(payload);
  const batches = Math.ceil(total / shape.batchSize);
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < batches) {
      const b = next++;
      const start = b * shape.batchSize;
      await engine.append(TOPIC, b % shape.partitions, recordsAt(payload, start, Math.min(shape.batchSize, total - start)));
      rss.sample();
    }
  };
  await Promise.all(Array.from({ length: shape.producers }, producer));
}

/** Reads every partition of the topic from offset 0 to its high watermark, decoding every record. */
export function consume(engine: Engine, partitions: number, tally: ReadTally, rss: RssTracker): void {
  for (let partition = 0; partition < partitions; partition++) {
    let offset = 0;
    while (true) {
      const res = engine.read(TOPIC, partition, offset, { maxBytes: READ_MAX_BYTES });
      const buf = res.records;
      for (let pos = 0; pos < buf.length; pos += batchTotalSize(buf, pos)) {
        for (const record of decodeRecords(buf, pos)) tally.add(record.key, record.value);
      }
      rss.sample();
      if (res.nextOffset >= res.highWatermark) break;
      if (buf.length === 0 || res.nextOffset <= offset) {
        throw new Error(`consume stalled on partition ${partition} at offset ${offset} (high watermark ${res.highWatermark})`);
      }
      offset = res.nextOffset;
    }
  }
}

/**
 * Produces the payload into a fresh file under `shape`, then (when `expected` is given) reopens the file
 * and consumes the whole topic, checking it against `expected`. Files are deleted afterwards.
 */
export async function onelogRun(
  payload: Buffer,
  shape: ProduceShape,
  expected: ReadTally | undefined,
): Promise<OnelogResult> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'bench.onelog');
    const writer = await Engine.open(file, { sync: shape.sync, create: true });
    let produced: Sample;
    try {
      // The records carry fixed 2023 timestamps: retention (7 days by default) would free them as it runs.
      await writer.createTopic(TOPIC, { partitions: shape.partitions, configs: { 'retention.ms': '-1' } });
      produced = await measure((rss) => produce(writer, payload, shape, rss));
    } finally {
      await writer.close();
    }
    if (expected === undefined) return { produce: produced, consume: undefined };

    const reader = await Engine.open(file, { sync: shape.sync, create: false });
    try {
      const tally = new ReadTally();
      const consumed = await measure((rss) => consume(reader, shape.partitions, tally, rss));
      tally.expectSame(expected, `onelog consume (${shape.partitions} partitions)`);
      return { produce: produced, consume: consumed };
    } finally {
      await reader.close();
    }
  });
}
