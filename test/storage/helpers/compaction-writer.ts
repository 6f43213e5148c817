// Child process of compaction.test.ts. Prints `ready`, waits for `go <path>`, opens the database (creating a
// compacted topic when missing), prints `start`, then appends keyed records forever from four producers
// while running compaction in a loop, printing `ack <offset> <key> <value>` for every acknowledged append.
// It is meant to be SIGKILLed; it must never stop on its own or check data.

import { Engine } from '../../../src/storage/engine.ts';
import { OnelogError } from '../../../src/errors.ts';
import { runOnGo } from './go-protocol.ts';

const COMPACT_TOPIC = 'c';
const COMPACT_KEYS = 12;

async function produce(db: Engine, producer: number): Promise<never> {
  const tag = `${String(process.pid)}-${String(producer)}`;
  for (let seq = 0; ; seq++) {
    const key = `k${String((seq * 7 + producer) % COMPACT_KEYS)}`;
    const value = `${tag}-${String(seq)}-${'x'.repeat(300)}`;
    const r = await db.append(COMPACT_TOPIC, 0, [{ key: Buffer.from(key), value: Buffer.from(value), headers: [], timestamp: Date.now() }]);
    process.stdout.write(`ack ${String(r.baseOffset)} ${key} ${value}\n`);
  }
}

async function compactForever(db: Engine): Promise<never> {
  for (;;) {
    await db.runCompaction();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function main(path: string): Promise<void> {
  const db = await Engine.open(path, { sync: 'batch', busyTimeoutMs: 10_000, extentSize: 64 * 1024 });
  try {
    await db.createTopic(COMPACT_TOPIC, { configs: { 'cleanup.policy': 'compact', 'delete.retention.ms': '0' } });
  } catch (err) {
    if (!(err instanceof OnelogError && err.code === 'TOPIC_EXISTS')) throw err;
  }
  process.stdout.write('start\n');
  await Promise.all([...Array.from({ length: 4 }, (_, p) => produce(db, p)), compactForever(db)]);
}

runOnGo('compaction-writer', 1, (args) => main(args[0]!));
