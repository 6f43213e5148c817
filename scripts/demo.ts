// `npm start`: a short demo of the embedded engine on ./data.onelog: creates a topic, produces records,
// consumes them back and prints throughput. It demonstrates the API; it is not a benchmark (see npm run bench).

import { Engine } from '../src/storage/engine.ts';
import { decodeRecords, batchTotalSize } from '../src/format/record-batch.ts';

const path = process.argv[2] ?? 'data.onelog';
const topic = 'demo';
const batches = 200;
const perBatch = 1000;

const db = await Engine.open(path);
try {
  if (db.describeTopic(topic) === undefined) await db.createTopic(topic, { partitions: 1, configs: { 'compression.type': 'lz4' } });
  const start = db.highWatermark(topic, 0);
  const value = Buffer.alloc(100, 'x');
  let t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const now = Date.now();
    const records = Array.from({ length: perBatch }, (_, i) => ({ key: Buffer.from(`key-${String(b * perBatch + i).padStart(12, '0')}`), value, timestamp: now }));
    await db.append(topic, 0, records);
  }
  const produceMs = performance.now() - t0;
  t0 = performance.now();
  let offset = start;
  let count = 0;
  let lastKey = '';
  const end = db.highWatermark(topic, 0);
  while (offset < end) {
    const res = db.read(topic, 0, offset, { maxBytes: 1 << 20 });
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      for (const r of decodeRecords(res.records, pos)) {
        count++;
        lastKey = r.key?.toString() ?? '';
      }
    }
    offset = res.nextOffset;
  }
  const consumeMs = performance.now() - t0;
  const n = batches * perBatch;
  console.log(`onelog demo on ${path} (topic "${topic}", lz4, sync 'batch')`);
  console.log(`  produced ${n.toLocaleString()} records in ${produceMs.toFixed(0)} ms: ${Math.round(n / (produceMs / 1000)).toLocaleString()} records/s`);
  console.log(`  consumed ${count.toLocaleString()} records in ${consumeMs.toFixed(0)} ms: ${Math.round(count / (consumeMs / 1000)).toLocaleString()} records/s (last key ${lastKey})`);
  console.log(`  offsets ${start}..${end - 1}; logStartOffset ${db.logStartOffset(topic, 0)}, highWatermark ${end}`);
} finally {
  await db.close();
}
