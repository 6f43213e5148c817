// Child process of multi-process.test.ts: `tail-follower.ts <path> <topic> <read-only|read-write>`. Follows
// every partition of the topic from offset 0 with read + waitForData, printing one line per record read,
// `<partition> <offset> <writer> <seq>` (writer and seq decoded from the value). On `stop <hw0> <hw1> ...` it
// keeps following until each partition reached the given highWatermark, prints `done` and exits. A batch
// failing its CRC or a value that does not decode makes it exit non-zero; judging order is the parent's job.

import { createInterface } from 'node:readline';
import { Engine } from '../../../src/storage/engine.ts';
import { batchTotalSize, decodeRecords, verifyBatchCrc } from '../../../src/format/record-batch.ts';
import { decodeValue } from './sequenced-value.ts';

const WAIT_MS = 250;

const [path, topicArg, mode] = process.argv.slice(2);
if (path === undefined || topicArg === undefined || (mode !== 'read-only' && mode !== 'read-write')) {
  throw new Error('usage: tail-follower.ts <path> <topic> <read-only|read-write>');
}
const topic = topicArg;

function fail(message: string): never {
  process.stderr.write(`tail-follower: ${message}\n`);
  process.exit(2);
}

const db = await Engine.open(path, { readOnly: mode === 'read-only', create: false });
const partitions = db.describeTopic(topic)?.partitions ?? fail(`topic ${topic} does not exist`);
let stopAt: number[] | null = null;

async function follow(partition: number): Promise<void> {
  let offset = 0;
  while (stopAt === null || offset < stopAt[partition]!) {
    const res = db.read(topic, partition, offset, { maxBytes: 64 * 1024 });
    if (res.records.length === 0) {
      await db.waitForData(topic, partition, offset, WAIT_MS);
      continue;
    }
    let out = '';
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      if (!verifyBatchCrc(res.records, pos)) fail(`CRC mismatch in partition ${partition} at offset ${offset}`);
      for (const r of decodeRecords(res.records, pos)) {
        const v = decodeValue(r.value) ?? fail(`undecodable value at ${partition}/${r.offset}`);
        out += `${partition} ${r.offset} ${v.writer} ${v.seq}\n`;
      }
    }
    process.stdout.write(out);
    offset = res.nextOffset;
  }
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const [verb, ...hws] = line.split(' ');
  if (verb !== 'stop' || hws.length !== partitions) fail(`unexpected command ${JSON.stringify(line)}`);
  stopAt = hws.map(Number);
});
input.once('close', () => {
  if (stopAt === null) process.exit(3);
});
process.stdout.write('ready\n');
Promise.all(Array.from({ length: partitions }, (_, p) => follow(p)))
  .then(async () => {
    process.stdout.write('done\n');
    await db.close();
    process.exit(0);
  })
  .catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
