// Child process of multi-process.test.ts: `multi-writer.ts <path> <topic> <writerId> <durationMs>`. Opens
// the database, prints `ready`, waits for `go` on stdin, then for durationMs appends batches of random size
// to random partitions from a few concurrent loops; record values encode (writerId, per-writer sequence),
// sequences being assigned in the order the appends are issued. Prints `done <acknowledged records>` once
// every append settled. It exits non-zero on any failed append; it checks nothing of what others write.

import { createInterface } from 'node:readline';
import { Engine } from '../../../src/storage/engine.ts';
import type { RecordInput } from '../../../src/format/record-batch.ts';
import { encodeValue } from './sequenced-value.ts';

const LOOPS = 4;
const MAX_BATCH = 20;

const [path, topicArg, writerArg, durationArg] = process.argv.slice(2);
if (path === undefined || topicArg === undefined || writerArg === undefined || durationArg === undefined) {
  throw new Error('usage: multi-writer.ts <path> <topic> <writerId> <durationMs>');
}
const topic = topicArg;
const writer = Number(writerArg);
const durationMs = Number(durationArg);

const db = await Engine.open(path, { sync: 'batch', busyTimeoutMs: 60_000 });
const partitions = db.describeTopic(topic)?.partitions ?? 0;
if (partitions === 0) throw new Error(`topic ${topic} does not exist`);

let nextSeq = 0;
let acknowledged = 0;

async function loop(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const count = 1 + Math.floor(Math.random() * MAX_BATCH);
    const partition = Math.floor(Math.random() * partitions);
    const records: RecordInput[] = [];
    for (let i = 0; i < count; i++) {
      const seq = nextSeq++;
      records.push({ key: seq % 3 === 0 ? null : Buffer.from(`w${writer}`), value: encodeValue(writer, seq), timestamp: Date.now() });
    }
    // Sequences are taken and the append issued in one synchronous step, so appends queue in sequence order.
    await db.append(topic, partition, records);
    acknowledged += count;
  }
}

const input = createInterface({ input: process.stdin });
input.once('line', () => {
  const deadline = Date.now() + durationMs;
  Promise.all(Array.from({ length: LOOPS }, () => loop(deadline)))
    .then(async () => {
      process.stdout.write(`done ${acknowledged}\n`);
      await db.close();
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`multi-writer ${writer} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    });
});
input.once('close', () => process.exit(3));
process.stdout.write('ready\n');
