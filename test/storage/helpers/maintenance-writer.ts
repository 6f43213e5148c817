// Child process of maintenance-crash.test.ts. Prints `ready`, waits for `go <path> <run>`, opens the database
// (creating the compacted, delete and keep topics when missing, deleting scratch topics a killed run left),
// prints `start`, then forever and all at once: producers append to the compacted and the delete topic; one
// loop creates a scratch topic, fills it, deletes records and then the topic, and vacuums while appending to
// the keep topic; one loop runs compaction and one retention. Per acknowledged append it prints
// `ack c <baseOffset> <producer> <seq>` or `ack d|keep <partition> <baseOffset> <lastOffset> <producer> <seq>`;
// around each maintenance call `compacting` … `compacted <removedRecords>`, `retaining` … `retained
// <freedExtents>`, `vacuuming` … `vacuumed <movedExtents>`. It is meant to be SIGKILLed; it must never stop
// on its own or check data.

import { Engine } from '../../../src/storage/engine.ts';
import { OnelogError } from '../../../src/errors.ts';
import { CRASH_ENGINE_OPTIONS, CRASH_PARTITIONS, CRASH_TOPIC_CONFIGS, ID_HEADER, crashBatch } from './crash-records.ts';
import { runOnGo } from './go-protocol.ts';
import {
  COMPACT_PRODUCERS,
  COMPACT_TOPIC,
  COMPACT_TOPIC_CONFIGS,
  DELETE_PRODUCERS,
  DELETE_TOPIC,
  DELETE_TOPIC_CONFIGS,
  KEEP_PRODUCER,
  KEEP_TOPIC,
  SCRATCH_PREFIX,
  keyedBatch,
} from './maintenance-records.ts';

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// stdout is a pipe, written synchronously on Linux: once the parent reads a line, what it reports happened.
function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function createTopic(db: Engine, name: string, partitions: number, configs: Readonly<Record<string, string>>): Promise<void> {
  try {
    await db.createTopic(name, { partitions, configs });
  } catch (err) {
    if (!(err instanceof OnelogError && err.code === 'TOPIC_EXISTS')) throw err;
  }
}

async function produceKeyed(db: Engine, run: number, producer: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const records = keyedBatch({ run, producer, seq }).map((r) => ({
      key: Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      headers: [{ key: ID_HEADER, value: Buffer.from(r.id) }],
      timestamp: Date.now(),
    }));
    const r = await db.append(COMPACT_TOPIC, 0, records);
    say(`ack c ${String(r.baseOffset)} ${String(producer)} ${String(seq)}`);
  }
}

async function appendBatch(db: Engine, topic: string, run: number, producer: number, seq: number): Promise<void> {
  const { partition, records } = crashBatch({ run, producer, seq });
  const r = await db.append(topic, partition, records);
  say(`ack ${topic} ${String(partition)} ${String(r.baseOffset)} ${String(r.lastOffset)} ${String(producer)} ${String(seq)}`);
}

async function produceBatches(db: Engine, run: number, producer: number): Promise<never> {
  for (let seq = 0; ; seq++) await appendBatch(db, DELETE_TOPIC, run, producer, seq);
}

/** Runs `step` over and over, `pauseMs` apart, saying `<doing>` before each call and `<done> <work it did>` after. */
async function repeatForever(doing: string, done: string, step: () => Promise<number>, pauseMs: number): Promise<never> {
  for (;;) {
    say(doing);
    const work = await step();
    say(`${done} ${String(work)}`);
    await pause(pauseMs);
  }
}

/**
 * Scratch topics filled among the other appends (three extents per partition, one large batch each), partly
 * deleted by DeleteRecords, then deleted; vacuum runs while the keep topic takes appends.
 */
async function scratchAndVacuumForever(db: Engine, run: number): Promise<never> {
  const scratch = Array.from({ length: 12 }, () => ({ key: null, value: Buffer.alloc(4000, 's'), headers: [], timestamp: Date.now() }));
  let keepSeq = 0;
  for (let round = 0; ; round++) {
    const name = `${SCRATCH_PREFIX}${String(process.pid)}-${String(round)}`;
    await db.createTopic(name, { partitions: 2 });
    for (let i = 0; i < 3; i++) {
      await Promise.all([0, 1].map((p) => db.append(name, p, scratch)));
      if (i === 1) await db.deleteRecords(name, round % 2, -1);
    }
    await db.deleteTopic(name);
    say('vacuuming');
    const keep = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) await appendBatch(db, KEEP_TOPIC, run, KEEP_PRODUCER, keepSeq++);
    };
    const [result] = await Promise.all([db.vacuum(), keep()]);
    say(`vacuumed ${String(result.movedExtents)}`);
  }
}

async function main(path: string, run: number): Promise<void> {
  const db = await Engine.open(path, CRASH_ENGINE_OPTIONS);
  await createTopic(db, COMPACT_TOPIC, 1, COMPACT_TOPIC_CONFIGS);
  await createTopic(db, DELETE_TOPIC, CRASH_PARTITIONS, DELETE_TOPIC_CONFIGS);
  await createTopic(db, KEEP_TOPIC, CRASH_PARTITIONS, CRASH_TOPIC_CONFIGS);
  for (const t of db.listTopics()) if (t.name.startsWith(SCRATCH_PREFIX)) await db.deleteTopic(t.name);
  say('start');
  await Promise.all([
    ...Array.from({ length: COMPACT_PRODUCERS }, (_, p) => produceKeyed(db, run, p)),
    ...Array.from({ length: DELETE_PRODUCERS }, (_, p) => produceBatches(db, run, p)),
    repeatForever('compacting', 'compacted', async () => (await db.runCompaction()).removedRecords, 2),
    repeatForever('retaining', 'retained', async () => (await db.runRetention()).freedExtents, 5),
    scratchAndVacuumForever(db, run),
  ]);
}

runOnGo('maintenance-writer', 2, (args) => main(args[0]!, Number(args[1])));
