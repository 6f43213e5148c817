// Several processes on one database file: four writer processes append concurrently for ten seconds while
// two follower processes (one read-only, one read-write) tail every partition; each follower must see every
// acknowledged record exactly once, in offset order, with no offset skipped or repeated and each writer's
// sequences increasing per partition. Also: a follower in another process sees a commit within 50 ms (p50),
// as the issue requires. It tests cross-process visibility and ordering, not throughput.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { sleep, startChild, type ChildScript } from './helpers/child-script.ts';
import { encodeValue } from './helpers/sequenced-value.ts';

const WRITERS = 4;
const PARTITIONS = 4;
const WRITE_MS = 10_000;
const TOPIC = 'mp';
const LINE_TIMEOUT_MS = 60_000;
const FOLLOWER_MODES = ['read-only', 'read-write'] as const;

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-mp-')), 'db.onelog');
}

/** What one follower streamed, checked as it arrives; problems are collected and asserted at the end. */
class FollowerLog {
  readonly problems: string[] = [];
  /** Next offset expected per partition. */
  readonly next: number[] = new Array<number>(PARTITIONS).fill(0);
  /** Last sequence seen per partition and writer. */
  readonly lastSeq: Map<number, number>[] = Array.from({ length: PARTITIONS }, () => new Map<number, number>());
  /** Sequences seen per writer. */
  readonly seen = new Map<number, Set<number>>();
  readonly name: string;
  records = 0;

  constructor(name: string) {
    this.name = name;
  }

  line(line: string): void {
    if (line === 'ready' || line === 'done' || line === '') return;
    const [partition, offset, writer, seq] = line.split(' ').map(Number) as [number, number, number, number];
    this.records++;
    if (this.problems.length > 20) return;
    if (!(partition >= 0 && partition < PARTITIONS)) {
      this.problems.push(`bad line ${JSON.stringify(line)}`);
      return;
    }
    if (offset !== this.next[partition]) this.problems.push(`partition ${partition}: read offset ${offset}, expected ${this.next[partition]} (skipped or repeated)`);
    this.next[partition] = offset + 1;
    const last = this.lastSeq[partition]!.get(writer);
    if (last !== undefined && seq <= last) this.problems.push(`partition ${partition}: writer ${writer} sequence ${seq} after ${last}`);
    this.lastSeq[partition]!.set(writer, seq);
    let seen = this.seen.get(writer);
    if (seen === undefined) this.seen.set(writer, (seen = new Set()));
    if (seen.has(seq)) this.problems.push(`writer ${writer} sequence ${seq} read twice (again at ${partition}/${offset})`);
    seen.add(seq);
  }
}

test(`${WRITERS} writer processes and ${FOLLOWER_MODES.length} tail-following processes agree on every record`, { timeout: 180_000 }, async (t: TestContext) => {
  const file = tempFile();
  const children: ChildScript[] = [];
  t.after(() => {
    for (const child of children) child.kill();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
  // Small extents: writers allocate (and checkpoint) often, so followers keep picking up new metadata.
  const setup = await Engine.open(file, { extentSize: 64 * 1024 });
  await setup.createTopic(TOPIC, { partitions: PARTITIONS });
  await setup.close();

  const logs = FOLLOWER_MODES.map((mode) => new FollowerLog(mode));
  const followers = FOLLOWER_MODES.map((mode, i) => startChild('tail-follower.ts', [file, TOPIC, mode], (line) => logs[i]!.line(line)));
  const writers = Array.from({ length: WRITERS }, (_, w) => startChild('multi-writer.ts', [file, TOPIC, String(w), String(WRITE_MS)]));
  children.push(...followers, ...writers);
  await Promise.all([...followers, ...writers].map((c) => c.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS)));

  const done = writers.map((c) => c.waitForLine((l) => l.startsWith('done '), WRITE_MS + LINE_TIMEOUT_MS));
  for (const writer of writers) writer.send('go');
  const acknowledged = (await Promise.all(done)).map((line) => Number(line.split(' ')[1]));
  for (const [w, writer] of writers.entries()) {
    const exit = await writer.exited;
    assert.equal(exit.code, 0, `writer ${w} failed: ${writer.stderr()}`);
  }
  // The followers were tailing while the writers wrote, not reading everything afterwards.
  for (const log of logs) assert.ok(log.records > 0, `follower ${log.name} read nothing while the writers ran`);

  const check = await Engine.open(file, { readOnly: true });
  const hws = Array.from({ length: PARTITIONS }, (_, p) => check.highWatermark(TOPIC, p));
  await check.close();
  const total = acknowledged.reduce((a, b) => a + b, 0);
  assert.equal(hws.reduce((a, b) => a + b, 0), total, 'the highWatermarks must add up to the acknowledged records');
  t.diagnostic(`${total} records acknowledged by ${WRITERS} writers (${acknowledged.join(', ')}); highWatermarks ${hws.join(', ')}`);

  const finished = followers.map((f) => f.waitForLine((l) => l === 'done', LINE_TIMEOUT_MS));
  for (const follower of followers) follower.send(`stop ${hws.join(' ')}`);
  await Promise.all(finished);
  for (const [i, follower] of followers.entries()) {
    const exit = await follower.exited;
    assert.equal(exit.code, 0, `follower ${logs[i]!.name} failed: ${follower.stderr()}`);
  }

  for (const log of logs) {
    assert.deepEqual(log.problems, [], `follower ${log.name}`);
    assert.deepEqual(log.next, hws, `follower ${log.name} must end at the highWatermarks`);
    assert.equal(log.records, total, `follower ${log.name} must read every record once`);
    for (let w = 0; w < WRITERS; w++) {
      const seen = log.seen.get(w) ?? new Set<number>();
      assert.equal(seen.size, acknowledged[w], `follower ${log.name}: records of writer ${w}`);
      for (const seq of seen) assert.ok(seq < acknowledged[w]!, `follower ${log.name}: writer ${w} sequence ${seq} was never acknowledged`);
    }
    assert.deepEqual([...log.seen.keys()].sort(), Array.from({ length: WRITERS }, (_, w) => w), `follower ${log.name}: records from unknown writers`);
  }
});

test('a follower in another process sees a commit within 50 ms (p50 over 20 appends)', { timeout: 60_000 }, async (t: TestContext) => {
  const APPENDS = 20;
  const file = tempFile();
  const db = await Engine.open(file);
  let follower: ChildScript | null = null;
  t.after(async () => {
    follower?.kill();
    await db.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
  await db.createTopic(TOPIC, { partitions: 1 });
  const seenAt = new Map<number, number>();
  follower = startChild('tail-follower.ts', [file, TOPIC, 'read-only'], (line) => {
    const offset = Number(line.split(' ')[1]);
    if (/^0 \d+ /.test(line)) seenAt.set(offset, performance.now());
  });
  await follower.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS);

  const latencies: number[] = [];
  for (let seq = 0; seq < APPENDS; seq++) {
    // Let the follower settle into waiting, as a tailing consumer does between records.
    await sleep(20 + Math.floor(Math.random() * 30));
    const { baseOffset } = await db.append(TOPIC, 0, [{ key: null, value: encodeValue(0, seq), timestamp: Date.now() }]);
    const acked = performance.now();
    if (!seenAt.has(baseOffset)) await follower.waitForLine((l) => l.startsWith(`0 ${baseOffset} `), LINE_TIMEOUT_MS);
    latencies.push(seenAt.get(baseOffset)! - acked);
  }
  const finished = follower.waitForLine((l) => l === 'done', LINE_TIMEOUT_MS);
  follower.send(`stop ${APPENDS}`);
  await finished;
  assert.equal((await follower.exited).code, 0, follower.stderr());

  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(APPENDS / 2)]!;
  t.diagnostic(`ack → follower latency: p50 ${p50.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
  assert.ok(p50 < 50, `p50 latency ${p50.toFixed(1)} ms is over 50 ms (all: ${latencies.map((l) => l.toFixed(1)).join(', ')})`);
});
