// Child process of crash-loop.test.ts. Prints `ready` once loaded, then waits for `go <path> <run>` on
// stdin, opens the database (creating the topic when missing), prints `start` and appends forever from
// CRASH_PRODUCERS concurrent producers, printing `ack <partition> <baseOffset> <lastOffset> <producer> <seq>`
// for every acknowledged append. It is meant to be SIGKILLed; it must never stop on its own or check data.

import { Engine } from '../../../src/storage/engine.ts';
import { OnelogError } from '../../../src/errors.ts';
import { CRASH_ENGINE_OPTIONS, CRASH_PARTITIONS, CRASH_PRODUCERS, CRASH_TOPIC, CRASH_TOPIC_CONFIGS, crashBatch } from './crash-records.ts';
import { runOnGo } from './go-protocol.ts';

async function produce(db: Engine, run: number, producer: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const { partition, records } = crashBatch({ run, producer, seq });
    const r = await db.append(CRASH_TOPIC, partition, records);
    // stdout is a pipe, written synchronously on Linux: once the parent reads this line it was acknowledged.
    process.stdout.write(`ack ${partition} ${r.baseOffset} ${r.lastOffset} ${producer} ${seq}\n`);
  }
}

async function main(path: string, run: number): Promise<void> {
  const db = await Engine.open(path, CRASH_ENGINE_OPTIONS);
  try {
    await db.createTopic(CRASH_TOPIC, { partitions: CRASH_PARTITIONS, configs: CRASH_TOPIC_CONFIGS });
  } catch (err) {
    if (!(err instanceof OnelogError && err.code === 'TOPIC_EXISTS')) throw err;
  }
  process.stdout.write('start\n');
  await Promise.all(Array.from({ length: CRASH_PRODUCERS }, (_, producer) => produce(db, run, producer)));
}

runOnGo('crash-writer', 2, (args) => main(args[0]!, Number(args[1])));
