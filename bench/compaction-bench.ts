// The compaction benchmark: a topic of N MB whose keys repeat so that 10% of its records are the latest of
// their key is compacted (Engine.runCompaction) while one producer appends to another topic of the same
// file; it reports the compaction's rate over the topic's bytes, and the producer's msgs/s during the
// compaction beside its msgs/s alone (same file, same process, just before). Engine API only.
import path from 'node:path';
import { Engine } from '../src/storage/engine.ts';
import type { RecordInput } from '../src/format/record-batch.ts';
import { BASE_TIMESTAMP, KEY_BYTES, makeValuePool, pooledValue, RECORD_BYTES, withTempDir, writeKey } from './measure.ts';

const COMPACTED = 'compacted';
const LIVE = 'live';
const BATCH = 1000;
/** One record in LIVE_FRACTION of the compacted topic's records is the latest of its key. */
const LIVE_FRACTION = 0.1;
/** How long the producer runs alone, for its baseline rate. */
const BASELINE_SECONDS = 3;

export interface CompactionSample {
  readonly topicBytes: number;
  readonly records: number;
  readonly removedRecords: number;
  readonly compactionSeconds: number;
  /** msgs/s of one producer (batches of 1000, each append awaited, sync none) alone, then during compaction. */
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

/** Appends batches to LIVE until `stop()` says so; resolves with msgs/s. */
async function produceUntil(engine: Engine, pool: Buffer, stop: () => boolean): Promise<number> {
  const started = performance.now();
  let records = 0;
  while (!stop()) {
    await engine.append(LIVE, 0, batchOf(pool, records, Number.MAX_SAFE_INTEGER));
    records += BATCH;
  }
  return records / ((performance.now() - started) / 1000);
}

/** One run on a fresh file: write the topic, measure the producer alone, then compact while it produces. */
export async function compactionRun(topicMb: number): Promise<CompactionSample> {
  return withTempDir(async (dir) => {
    const engine = await Engine.open(path.join(dir, 'compaction.onelog'), { sync: 'none' });
    try {
      const pool = makeValuePool(1 << 20);
      // Written under cleanup.policy delete so nothing is compacted before the clock starts.
      await engine.createTopic(COMPACTED, { configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'min.compaction.lag.ms': '0' } });
      await engine.createTopic(LIVE, { configs: { 'retention.ms': '-1' } });
      const records = Math.ceil((topicMb * 1_000_000) / RECORD_BYTES / BATCH) * BATCH;
      const keys = Math.round(records * LIVE_FRACTION);
      for (let first = 0; first < records; first += BATCH) await engine.append(COMPACTED, 0, batchOf(pool, first, keys));

      const baselineEnd = performance.now() + BASELINE_SECONDS * 1000;
      const produceAlone = await produceUntil(engine, pool, () => performance.now() >= baselineEnd);

      await engine.alterTopicConfigs(COMPACTED, { 'cleanup.policy': 'compact' });
      let compacting = true;
      const started = performance.now();
      const during = produceUntil(engine, pool, () => !compacting);
      const result = await engine.runCompaction();
      const compactionSeconds = (performance.now() - started) / 1000;
      compacting = false;
      const produceDuring = await during;
      return { topicBytes: records * RECORD_BYTES, records, removedRecords: result.removedRecords, compactionSeconds, produceAlone, produceDuring };
    } finally {
      await engine.close();
    }
  });
}
