// The compaction benchmark: a topic of N MB whose keys repeat so that 10% of its records are the latest of
// their key is compacted (Engine.runCompaction) while one producer appends to another topic of the same
// file; it reports the compaction's rate over the topic's bytes, and the producer's msgs/s during the
// compaction beside its msgs/s alone (same file, same process, for a few seconds before and after). The
// producer runs under the default sync 'batch': under 'none' its rate falls by a third once the page
// cache's writeback catches up (about 20 s in), so a baseline of a few seconds would not compare with a
// compaction of a minute. Engine API only.
import path from 'node:path';
import { Engine } from '../src/storage/engine.ts';
import type { RecordInput } from '../src/format/record-batch.ts';
import { BASE_TIMESTAMP, KEY_BYTES, makeValuePool, pooledValue, RECORD_BYTES, withTempDir, writeKey } from './measure.ts';

const COMPACTED = 'compacted';
const LIVE = 'live';
const BATCH = 1000;
/** One record in LIVE_FRACTION of the compacted topic's records is the latest of its key. */
const LIVE_FRACTION = 0.1;
/** How long the producer runs alone before the compaction, and again after it, for its baseline rate. */
const BASELINE_SECONDS = 5;

export interface CompactionSample {
  readonly topicBytes: number;
  readonly records: number;
  readonly removedRecords: number;
  readonly compactionSeconds: number;
  /** Compaction steps, and the longest time one held the writer lock (ms). */
  readonly steps: number;
  readonly longestStepMs: number;
  /** msgs/s of one producer (batches of 1000, each append awaited, sync batch) alone (before and after), and during compaction. */
  readonly produceAlone: number;
  readonly produceDuring: number;
}

function batchOf(pool: Buffer, first: number, keys: number): RecordInput[] {
  const records: RecordInput[] = new Array<RecordInput>(BATCH);
  for (let j = 0; j < BATCH; j++) {
    const i = first + j;
    const key = Buffer.allocUnsafe(KEY_BYTES);
    writeKey(key, 0, i % keys);
    records[j] = { key, value: pooledValue(pool, i), timestamp: BASE_TIMESTAMP + i };
  }
  return records;
}

/** Appends batches to LIVE until `stop()` says so; resolves with the records appended and the seconds taken. */
async function produceUntil(engine: Engine, pool: Buffer, stop: () => boolean): Promise<{ records: number; seconds: number }> {
  const started = performance.now();
  let records = 0;
  while (!stop()) {
    await engine.append(LIVE, 0, batchOf(pool, records, Number.MAX_SAFE_INTEGER));
    records += BATCH;
  }
  return { records, seconds: (performance.now() - started) / 1000 };
}

/** The producer alone for `seconds`. */
function produceFor(engine: Engine, pool: Buffer, seconds: number): Promise<{ records: number; seconds: number }> {
  const end = performance.now() + seconds * 1000;
  return produceUntil(engine, pool, () => performance.now() >= end);
}

/** One run on a fresh file: write the topic, measure the producer alone, then compact while it produces. */
export async function compactionRun(topicMb: number): Promise<CompactionSample> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'compaction.onelog');
    const pool = makeValuePool(1 << 20);
    const records = Math.ceil((topicMb * 1_000_000) / RECORD_BYTES / BATCH) * BATCH;
    const keys = Math.round(records * LIVE_FRACTION);
    // The topic is written under sync none (quickly), and under cleanup.policy delete so that nothing is
    // compacted before the clock starts.
    const writer = await Engine.open(file, { sync: 'none' });
    try {
      await writer.createTopic(COMPACTED, { configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'min.compaction.lag.ms': '0' } });
      await writer.createTopic(LIVE, { configs: { 'retention.ms': '-1' } });
      for (let first = 0; first < records; first += BATCH) await writer.append(COMPACTED, 0, batchOf(pool, first, keys));
    } finally {
      await writer.close();
    }
    const engine = await Engine.open(file, { sync: 'batch' });
    try {
      const before = await produceFor(engine, pool, BASELINE_SECONDS);

      await engine.alterTopicConfigs(COMPACTED, { 'cleanup.policy': 'compact' });
      let compacting = true;
      const started = performance.now();
      const during = produceUntil(engine, pool, () => !compacting);
      const result = await engine.runCompaction();
      const compactionSeconds = (performance.now() - started) / 1000;
      compacting = false;
      const { records: producedDuring, seconds: secondsDuring } = await during;
      const after = await produceFor(engine, pool, BASELINE_SECONDS);
      return {
        topicBytes: records * RECORD_BYTES,
        records,
        removedRecords: result.removedRecords,
        compactionSeconds,
        steps: result.steps,
        longestStepMs: result.longestStepMs,
        produceAlone: (before.records + after.records) / (before.seconds + after.seconds),
        produceDuring: producedDuring / secondsDuring,
      };
    } finally {
      await engine.close();
    }
  });
}
