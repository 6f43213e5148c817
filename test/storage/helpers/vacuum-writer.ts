// Child process of vacuum.test.ts. Prints `ready`, waits for `go <path>`, opens the database (creating topic
// `keep` when missing), deletes every other topic, prints `start`, then forever: fills a scratch topic
// interleaved with acknowledged appends to `keep`, deletes the scratch topic and vacuums while `keep` keeps
// taking appends. Prints `ack <offset> <value>` per acknowledged append and `vacuumed <moved>` per vacuum.
// It is meant to be SIGKILLed; it must never stop on its own or check data.

import { Engine } from '../../../src/storage/engine.ts';
import { OnelogError } from '../../../src/errors.ts';
import { runOnGo } from './go-protocol.ts';

async function appendKeep(db: Engine, tag: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const value = `${tag}-${String(i)}-${'k'.repeat(900)}`;
    const r = await db.append('keep', 0, [{ key: null, value: Buffer.from(value), headers: [], timestamp: Date.now() }]);
    process.stdout.write(`ack ${String(r.baseOffset)} ${value}\n`);
  }
}

async function main(path: string): Promise<void> {
  const db = await Engine.open(path, { sync: 'batch', busyTimeoutMs: 10_000, extentSize: 64 * 1024 });
  try {
    await db.createTopic('keep');
  } catch (err) {
    if (!(err instanceof OnelogError && err.code === 'TOPIC_EXISTS')) throw err;
  }
  for (const t of db.listTopics()) if (t.name !== 'keep') await db.deleteTopic(t.name);
  process.stdout.write('start\n');
  const scratch = Buffer.alloc(3000, 's');
  for (let round = 0; ; round++) {
    const name = `scratch-${String(process.pid)}-${String(round)}`;
    await db.createTopic(name);
    for (let i = 0; i < 40; i++) {
      await db.append(name, 0, [{ key: null, value: scratch, headers: [], timestamp: Date.now() }]);
      if (i % 8 === 0) await appendKeep(db, `${String(process.pid)}-${String(round)}-${String(i)}`, 3);
    }
    await db.deleteTopic(name);
    const [result] = await Promise.all([db.vacuum(), appendKeep(db, `${String(process.pid)}-${String(round)}-v`, 10)]);
    process.stdout.write(`vacuumed ${String(result.movedExtents)}\n`);
  }
}

runOnGo('vacuum-writer', 1, (args) => main(args[0]!));
