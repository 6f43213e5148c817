// Large-topic run, spawned by run.ts as its own process so the RSS it reports is onelog's alone: writes a
// topic of `--gb N` GB of payload (sync none, one producer, batches of 1000, one partition), then reopens
// the file and reads it all back, printing one JSON result line per phase on stdout. Records are made on
// the fly from a small pool so the bench itself holds no more than one batch; it must not keep them.

import path from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../src/storage/engine.ts';
import type { RecordInput } from '../src/format/record-batch.ts';
import { consume, TOPIC } from './onelog-bench.ts';
import {
  BASE_TIMESTAMP,
  KEY_BYTES,
  makeValuePool,
  maxRssBytes,
  measure,
  pooledValue,
  rates,
  ReadTally,
  RECORD_BYTES,
  toMb,
  withTempDir,
  writeKey,
  type ResultRow,
  type Sample,
} from './measure.ts';

const BATCH_SIZE = 1000;
const VALUE_POOL_BYTES = 1 << 20;
const BYTES_PER_GB = 1e9;

// Linux keeps a process's peak-RSS mark across exec, so a child spawned by a big parent (the bench holds
// its whole payload) starts with the parent's peak: maxRSS then says nothing of this process.
const MAX_RSS_INHERITED = maxRssBytes() > process.memoryUsage.rss() + 32 * 1024 * 1024;

function row(bench: ResultRow['bench'], records: number, sample: Sample): ResultRow {
  const { msgsPerS, mbPerS } = rates(records, sample.seconds);
  return {
    bench,
    system: 'onelog',
    mode: 'none',
    producers: 1,
    partitions: 1,
    batch_size: BATCH_SIZE,
    records,
    runs: 1,
    msgs_per_s: msgsPerS,
    mb_per_s: mbPerS,
    rss_mb: toMb(sample.rssPeakBytes),
    ...(MAX_RSS_INHERITED ? {} : { max_rss_mb: toMb(maxRssBytes()) }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { gb: { type: 'string', default: '4' } }, strict: true });
  const gb = Number(values.gb);
  if (!Number.isFinite(gb) || gb <= 0) throw new Error(`--gb must be a positive number, got ${values.gb}`);
  const records = Math.max(1, Math.floor((gb * BYTES_PER_GB) / RECORD_BYTES));
  const pool = makeValuePool(VALUE_POOL_BYTES);
  const written = new ReadTally();

  await withTempDir(async (dir) => {
    const file = path.join(dir, 'large.onelog');
    const writer = await Engine.open(file, { sync: 'none', create: true });
    let produced: Sample;
    try {
      // The records carry fixed 2023 timestamps: retention (7 days by default) would free them as it runs.
      await writer.createTopic(TOPIC, { partitions: 1, configs: { 'retention.ms': '-1' } });
      produced = await measure(async (rss) => {
        for (let start = 0; start < records; start += BATCH_SIZE) {
          const count = Math.min(BATCH_SIZE, records - start);
          const keys = Buffer.allocUnsafe(count * KEY_BYTES);
          const batch: RecordInput[] = new Array<RecordInput>(count);
          for (let j = 0; j < count; j++) {
            const index = start + j;
            writeKey(keys, j * KEY_BYTES, index);
            const key = keys.subarray(j * KEY_BYTES, (j + 1) * KEY_BYTES);
            const value = pooledValue(pool, index);
            written.add(key, value);
            batch[j] = { key, value, timestamp: BASE_TIMESTAMP + index };
          }
          await writer.append(TOPIC, 0, batch);
          rss.sample();
        }
      });
    } finally {
      await writer.close();
    }
    console.log(JSON.stringify(row('large-produce', records, produced)));

    const reader = await Engine.open(file, { sync: 'none', create: false });
    try {
      const tally = new ReadTally();
      const consumed = await measure((rss) => consume(reader, 1, tally, rss));
      tally.expectSame(written, 'large-topic consume');
      console.log(JSON.stringify(row('large-consume', records, consumed)));
    } finally {
      await reader.close();
    }
  });
}

await main();
