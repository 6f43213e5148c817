// Child process of vacuum.test.ts: a reader in another process. Opens `<path>` read-only and reads every
// record of the topics named on the command line over and over, checking each value names its own topic,
// partition and offset (as vacuum.test.ts writes them). Every read of extent bytes first stalls for two
// milliseconds, so that a writer's vacuum steps land between this reader loading metadata and reading data.
// Prints `pass <n> <retries>` after each full pass, `bad <what>` on a wrong record or an untyped error;
// stops after a `stop` line with `done`.

import { createInterface } from 'node:readline';
import { Engine } from '../../../src/storage/engine.ts';
import { OnelogError } from '../../../src/errors.ts';
import { DATA_START } from '../../../src/format/file-layout.ts';
import { batchTotalSize, decodeRecords } from '../../../src/format/record-batch.ts';
import type { FileSystem } from '../../../src/storage/file-layer.ts';
import { nodeFileSystem } from '../../../src/storage/node-file-layer.ts';

const stall = new Int32Array(new SharedArrayBuffer(4));

/** The node file system, with a one-millisecond stall before every read of extent bytes. */
const slowReads: FileSystem = {
  open(path, options) {
    const file = nodeFileSystem.open(path, options);
    const read = file.read.bind(file);
    file.read = (buffer, offset, length, position) => {
      if (position >= DATA_START) Atomics.wait(stall, 0, 0, 2);
      return read(buffer, offset, length, position);
    };
    return file;
  },
  create: (path, initial) => nodeFileSystem.create(path, initial),
};

let stopping = false;

function readPartition(db: Engine, topic: string, partition: number): number {
  let retries = 0;
  const hw = db.highWatermark(topic, partition);
  for (let offset = db.logStartOffset(topic, partition); offset < hw; ) {
    let records: Buffer;
    let next: number;
    try {
      const res = db.read(topic, partition, offset, { maxBytes: 64 * 1024 });
      records = res.records;
      next = res.nextOffset;
    } catch (err) {
      if (err instanceof OnelogError && err.retriable) {
        retries++;
        continue;
      }
      throw err;
    }
    for (let pos = 0; pos < records.length; pos += batchTotalSize(records, pos)) {
      for (const r of decodeRecords(records, pos)) {
        const want = `${topic}/${String(partition)}/${String(r.offset)}/`;
        if (r.offset < offset || r.value === null || !r.value.toString().startsWith(want)) {
          throw new Error(`record at ${String(r.offset)} (reading from ${String(offset)}) of ${topic}-${String(partition)} holds ${JSON.stringify(r.value?.subarray(0, 40).toString())}`);
        }
      }
    }
    offset = next;
  }
  return retries;
}

async function main(path: string, topics: string[]): Promise<void> {
  const db = await Engine.open(path, { readOnly: true, fileSystem: slowReads });
  for (let pass = 0; !stopping; pass++) {
    let retries = 0;
    try {
      for (const topic of topics) {
        const info = db.describeTopic(topic);
        for (let p = 0; p < (info?.partitions ?? 0); p++) retries += readPartition(db, topic, p);
      }
    } catch (err) {
      process.stdout.write(`bad ${err instanceof Error ? err.message.replaceAll('\n', ' ') : String(err)}\n`);
    }
    process.stdout.write(`pass ${String(pass)} ${String(retries)}\n`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await db.close();
  process.stdout.write('done\n');
}

const [path, ...topics] = process.argv.slice(2);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stop') stopping = true;
});
main(path!, topics).catch((err: unknown) => {
  process.stdout.write(`bad ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
