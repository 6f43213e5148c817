// Retention and space reuse: whole sealed extents past retention.ms (injected clock) or retention.bytes are
// freed, logStartOffset advances, reads below it fail, newer batches stay byte for byte, freed extents are
// reused before the file grows, the file stops growing under a steady load, and free + owned extents
// account for the whole file after reopening, also after a writer running retention is SIGKILLed.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type EngineOptions } from '../../src/storage/engine.ts';
import { DATA_START } from '../../src/format/file-layout.ts';
import { batchTotalSize, decodeRecords, encodeBatch, readBatchHeader, verifyBatchCrc } from '../../src/format/record-batch.ts';
import { rejectsWith } from '../helpers/rejects-with.ts';
import { sleep, startChild, type ChildScript } from './helpers/child-script.ts';
import {
  CRASH_ENGINE_OPTIONS,
  CRASH_EXTENT_SIZE,
  CRASH_PARTITIONS,
  CRASH_TOPIC,
  ID_HEADER,
  RETENTION_EXTENTS,
  crashBatch,
  formatBatchId,
  parseBatchId,
} from './helpers/crash-records.ts';
import { assertAccounted } from './helpers/extent-accounting.ts';

const EXTENT = 64 * 1024;
const T0 = 1_800_000_000_000;
const MINUTE = 60_000;

function tempFile(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-retention-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'db.onelog');
}

/** One batch of one ~4 KiB record: about 15 fit in an extent. */
function bigRecord(n: number, timestamp: number): { key: Buffer; value: Buffer; headers: []; timestamp: number }[] {
  return [{ key: Buffer.from(`k${n}`), value: Buffer.alloc(4000, n & 0xff), headers: [], timestamp }];
}

/** Every stored batch of a partition from `from` to the highWatermark, by base offset. */
function batchesFrom(db: Engine, topic: string, partition: number, from: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const hw = db.highWatermark(topic, partition);
  for (let offset = from; offset < hw; ) {
    const res = db.read(topic, partition, offset, { maxBytes: 256 * 1024 });
    for (let pos = 0; pos < res.records.length; ) {
      const size = batchTotalSize(res.records, pos);
      const batch = Buffer.from(res.records.subarray(pos, pos + size));
      assert.ok(verifyBatchCrc(batch), `${topic}-${partition}: CRC mismatch at offset ${offset}`);
      out.set(readBatchHeader(batch).baseOffset, batch);
      pos += size;
    }
    offset = res.nextOffset;
  }
  return out;
}

function extentsOf(db: Engine, topic: string, partition: number): readonly (readonly [number, number, number])[] {
  const p = db.layout().partitions.find((x) => x.topic === topic && x.partition === partition);
  assert.ok(p !== undefined);
  return p.extents;
}

test('retention by time frees whole old extents, advances logStartOffset, keeps newer batches byte for byte', async (t) => {
  const file = tempFile(t);
  let now = T0;
  const options: EngineOptions = { extentSize: EXTENT, sync: 'none', clock: () => now };
  let db = await Engine.open(file, options);
  await db.createTopic('t', { configs: { 'retention.ms': String(MINUTE) } });
  await db.createTopic('forever', { configs: { 'retention.ms': '-1' } });
  await db.createTopic('compacted', { configs: { 'retention.ms': String(MINUTE), 'cleanup.policy': 'compact' } });
  // 80 old batches (about 5 extents), then 50 ten minutes newer.
  for (let n = 0; n < 130; n++) {
    const ts = n < 80 ? T0 + n : T0 + 10 * MINUTE + n;
    for (const topic of ['t', 'forever', 'compacted']) await db.append(topic, 0, bigRecord(n, ts));
  }
  assert.deepEqual(await db.runRetention(), { freedExtents: 0, partitions: [] }, 'nothing is older than retention.ms yet');
  assert.equal(db.logStartOffset('t', 0), 0);
  const before = batchesFrom(db, 't', 0, 0);
  const extents = extentsOf(db, 't', 0);
  assert.ok(extents.length >= 8, `expected several extents, got ${extents.length}`);

  now = T0 + 10 * MINUTE + 30_000;
  const horizon = now - MINUTE;
  // Expected: the leading extents whose newest timestamp is before the horizon (never the last one).
  const kept = extents.findIndex((e, i) => e[2] >= horizon || i === extents.length - 1);
  assert.ok(kept >= 4, `the old batches filled ${kept} extents`);
  const expectedStart = extents[kept]![1];
  const result = await db.runRetention();
  assert.deepEqual(result, { freedExtents: kept, partitions: [{ topic: 't', partition: 0, freedExtents: kept, logStartOffset: expectedStart }] });
  assert.equal(db.logStartOffset('t', 0), expectedStart);
  assert.ok(expectedStart <= 80, 'no batch newer than the horizon was deleted');
  assert.deepEqual(extentsOf(db, 't', 0), extents.slice(kept));
  await rejectsWith(() => db.read('t', 0, expectedStart - 1), 'OFFSET_OUT_OF_RANGE');
  await rejectsWith(() => db.read('t', 0, 0), 'OFFSET_OUT_OF_RANGE');
  const after = batchesFrom(db, 't', 0, expectedStart);
  assert.equal(after.size, 130 - expectedStart);
  for (const [offset, bytes] of after) assert.ok(bytes.equals(before.get(offset)!), `batch ${offset} changed`);
  // retention.ms -1 and a compact-only policy keep everything.
  assert.equal(db.logStartOffset('forever', 0), 0);
  assert.equal(db.logStartOffset('compacted', 0), 0);
  assert.equal(batchesFrom(db, 'compacted', 0, 0).size, 130);
  assertAccounted(db, 'after retention');

  // Freed extents are reused before the file grows.
  const { extentCount, freeExtents } = db.stats();
  assert.equal(freeExtents, kept);
  for (let n = 130; n < 130 + 15 * (kept - 1); n++) await db.append('t', 0, bigRecord(n, now));
  assert.equal(db.stats().extentCount, extentCount, 'the file grew while freed extents were left');
  assert.ok(db.stats().freeExtents < freeExtents);
  assertAccounted(db, 'after reuse');

  await db.close();
  db = await Engine.open(file, options);
  assert.equal(db.logStartOffset('t', 0), expectedStart);
  assertAccounted(db, 'after reopening');
  for (const [offset, bytes] of batchesFrom(db, 't', 0, expectedStart)) if (offset < 130) assert.ok(bytes.equals(before.get(offset)!), `batch ${offset} changed`);
  await db.close();
});

test('retention runs by itself on a timer and after filled extents, in the handle open for writing', async (t) => {
  const file = tempFile(t);
  let now = T0;
  const db = await Engine.open(file, { extentSize: EXTENT, sync: 'batch', clock: () => now, retentionCheckIntervalMs: 20 });
  t.after(() => db.close());
  await db.createTopic('t', { configs: { 'retention.ms': String(MINUTE) } });
  for (let n = 0; n < 60; n++) await db.append('t', 0, bigRecord(n, T0 + n));
  assert.equal(db.logStartOffset('t', 0), 0);
  // No append: the timer finds the expired extents.
  now = T0 + 2 * MINUTE;
  const deadline = Date.now() + 5000;
  while (db.logStartOffset('t', 0) === 0 && Date.now() < deadline) await sleep(10);
  const start = db.logStartOffset('t', 0);
  assert.ok(start > 0, 'the timer ran no retention');
  assert.equal(extentsOf(db, 't', 0).length, 1, 'every sealed extent expired');
  assert.equal(start, extentsOf(db, 't', 0)[0]![1]);
  // Appends with old timestamps: each extent they fill is freed right after it is sealed, and reused.
  const { extentCount } = db.stats();
  now = T0 + 60 * MINUTE;
  for (let n = 60; n < 200; n++) await db.append('t', 0, bigRecord(n, T0 + n));
  assert.ok(extentsOf(db, 't', 0).length <= 2, `sealed expired extents were kept: ${extentsOf(db, 't', 0).length}`);
  assert.equal(db.stats().extentCount, extentCount, 'the file grew although extents were free');
  assertAccounted(db, 'after timed retention');
  await rejectsWith(() => Engine.open(file, { retentionCheckIntervalMs: 0 }), 'INVALID_ARGUMENT');
});

test('retention by size keeps the newest extents within retention.bytes plus one extent', async (t) => {
  const file = tempFile(t);
  const db = await Engine.open(file, { extentSize: EXTENT, sync: 'none' });
  t.after(() => db.close());
  await db.createTopic('s', { partitions: 2, configs: { 'retention.bytes': String(3 * EXTENT), 'retention.ms': '-1' } });
  for (let n = 0; n < 200; n++) await db.append('s', n % 2, bigRecord(n, T0 + n));
  for (const p of [0, 1]) {
    const extents = extentsOf(db, 's', p);
    assert.ok(extents.length <= 5 && extents.length >= 3, `partition ${p} holds ${extents.length} extents`);
    assert.equal(db.logStartOffset('s', p), extents[0]![1]);
    assert.ok(db.logStartOffset('s', p) > 0);
    await rejectsWith(() => db.read('s', p, db.logStartOffset('s', p) - 1), 'OFFSET_OUT_OF_RANGE');
    for (const [offset, bytes] of batchesFrom(db, 's', p, db.logStartOffset('s', p))) {
      const records = decodeRecords(bytes);
      assert.equal(records[0]?.key?.toString(), `k${2 * offset + p}`, `partition ${p} offset ${offset} holds another batch`);
    }
  }
  // A smaller limit, applied on demand: one extent of space less than retention.bytes plus one.
  await db.alterTopicConfigs('s', { 'retention.bytes': '0' });
  const result = await db.runRetention();
  assert.equal(result.partitions.length, 2);
  for (const p of [0, 1]) assert.equal(extentsOf(db, 's', p).length, 1, 'retention.bytes 0 keeps only the tail extent');
  assert.deepEqual(await db.runRetention(), { freedExtents: 0, partitions: [] });
  assertAccounted(db, 'after size retention');
});

test('the file stops growing under a steady load of 200,000 appends with retention.bytes', async (t) => {
  const file = tempFile(t);
  const partitions = 2;
  const limit = 4 * EXTENT;
  let db = await Engine.open(file, { extentSize: EXTENT, sync: 'none' });
  await db.createTopic('load', { partitions, configs: { 'retention.bytes': String(limit), 'retention.ms': '-1' } });
  // Two extents per partition over the limit (the tail, and one freed but not yet durably so), plus the
  // meta extent and, while it moves on, its successor.
  const bound = partitions * (limit + 2 * EXTENT) + 2 * EXTENT;
  const value = Buffer.alloc(100, 7);
  let maxExtents = 0;
  let written = 0;
  for (let n = 0; n < 200_000; n += 200) {
    const appends: Promise<unknown>[] = [];
    for (let i = n; i < n + 200; i++) appends.push(db.append('load', i % partitions, [{ key: null, value, headers: [], timestamp: T0 + i }]));
    await Promise.all(appends);
    written += 200 * 170;
    const stats = db.stats();
    maxExtents = Math.max(maxExtents, stats.extentCount);
    assert.ok(stats.extentCount * EXTENT <= bound, `after ${n + 200} appends the file holds ${stats.extentCount} extents (bound ${bound / EXTENT})`);
    assert.ok(stats.fileSize <= DATA_START + bound, `after ${n + 200} appends the file is ${stats.fileSize} bytes`);
  }
  assert.ok(written > 20 * maxExtents * EXTENT, 'the load wrote far more than the file holds');
  t.diagnostic(`at most ${maxExtents} extents (bound ${bound / EXTENT}) for about ${Math.round(written / EXTENT)} extents written`);
  for (let p = 0; p < partitions; p++) assert.equal(db.highWatermark('load', p), 100_000);
  assertAccounted(db, 'under load');
  await db.close();
  db = await Engine.open(file, { extentSize: EXTENT });
  assertAccounted(db, 'after reopening');
  for (let p = 0; p < partitions; p++) {
    const start = db.logStartOffset('load', p);
    assert.equal(batchesFrom(db, 'load', p, start).size, 100_000 - start);
  }
  await db.close();
});

test('segment.bytes seals the tail extent early, so retention can free smaller steps', async (t) => {
  const file = tempFile(t);
  const db = await Engine.open(file, { extentSize: EXTENT, sync: 'none' });
  t.after(() => db.close());
  await db.createTopic('seg', { configs: { 'segment.bytes': '10000', 'retention.ms': '-1' } });
  // Two ~4 KiB batches fit under 10000 bytes, a third starts a new extent.
  for (let n = 0; n < 9; n++) await db.append('seg', 0, bigRecord(n, T0 + n));
  assert.deepEqual(
    extentsOf(db, 'seg', 0).map((e) => e[1]),
    [0, 2, 4, 6, 8],
  );
  await db.alterTopicConfigs('seg', { 'retention.bytes': '0' });
  await db.runRetention();
  assert.equal(db.logStartOffset('seg', 0), 8);
  assertAccounted(db, 'after segment retention');
});

interface Ack {
  readonly id: string;
  readonly lastOffset: number;
}

/** Opens the file the killed child left: no extent leaked, every acknowledged batch at or above logStartOffset there. */
async function checkRetentionFile(file: string, acks: Map<number, Ack>[]): Promise<number> {
  const db = await Engine.open(file, CRASH_ENGINE_OPTIONS);
  let deleted = 0;
  try {
    assertAccounted(db, 'after the kill');
    if (db.describeTopic(CRASH_TOPIC) === undefined) {
      assert.ok(acks.every((m) => m.size === 0), 'the topic vanished');
      return 0;
    }
    for (let p = 0; p < CRASH_PARTITIONS; p++) {
      const start = db.logStartOffset(CRASH_TOPIC, p);
      const extents = extentsOf(db, CRASH_TOPIC, p);
      assert.equal(start, extents[0]?.[1] ?? 0, `partition ${p}: logStartOffset is not its first extent's first offset`);
      // Retention frees only while the partition keeps retention.bytes; recovery may cut an unwritten tail.
      if (start > 0) assert.ok(extents.length >= RETENTION_EXTENTS - 1, `partition ${p}: retention left only ${extents.length} extents`);
      deleted += start;
      const batches = batchesFrom(db, CRASH_TOPIC, p, start);
      let expected = start;
      for (const [offset, batch] of batches) {
        assert.equal(offset, expected, `partition ${p}: offsets not contiguous`);
        const records = decodeRecords(batch);
        const header = records[0]?.headers[0];
        assert.ok(header?.key === ID_HEADER && header.value !== null);
        const id = parseBatchId(header.value.toString());
        assert.ok(id !== null);
        const appended = crashBatch(id);
        assert.equal(appended.partition, p);
        assert.ok(encodeBatch({ baseOffset: offset, records: appended.records }).equals(batch), `partition ${p}: batch at ${offset} differs from what was appended`);
        const ack = acks[p]!.get(offset);
        if (ack !== undefined) assert.equal(formatBatchId(id), ack.id, `partition ${p}: offset ${offset} holds another batch than the acknowledged one`);
        expected = offset + records.length;
      }
      for (const [offset, ack] of acks[p]!) {
        if (offset >= start) assert.ok(batches.has(offset), `partition ${p}: acknowledged batch ${ack.id} at ${offset} is missing (logStartOffset ${start})`);
        else acks[p]!.delete(offset);
      }
    }
  } finally {
    await db.close();
  }
  return deleted;
}

test('a writer SIGKILLed while retention frees and reuses extents loses no retained acknowledged batch and leaks no extent', { timeout: 120_000 }, async (t) => {
  const kills = 32;
  const killsPerFile = 8;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-retention-crash-'));
  const live = new Set<ChildScript>();
  t.after(() => {
    for (const child of live) child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const spawn = (): { child: ChildScript; acks: string[]; ready: Promise<string> } => {
    const acks: string[] = [];
    const child = startChild('crash-writer.ts', ['retention'], (line) => {
      if (line.startsWith('ack ')) acks.push(line);
    });
    live.add(child);
    const ready = child.waitForLine((l) => l === 'ready', 30_000);
    ready.catch(() => undefined);
    return { child, acks, ready };
  };
  let spare = spawn();
  let file = '';
  let acks: Map<number, Ack>[] = [];
  let deleted = 0;
  let acked = 0;
  for (let run = 0; run < kills; run++) {
    if (run % killsPerFile === 0) {
      file = path.join(dir, `retention-${run}.onelog`);
      acks = Array.from({ length: CRASH_PARTITIONS }, () => new Map<number, Ack>());
    }
    const writer = spare;
    spare = spawn();
    await writer.ready;
    writer.child.send(`go ${file} ${run}`);
    await writer.child.waitForLine((l) => l === 'start', 30_000);
    await sleep(50 + ((run * 37) % 200));
    writer.child.kill();
    const exit = await writer.child.exited;
    live.delete(writer.child);
    assert.equal(exit.signal, 'SIGKILL', `run ${run}: the writer died on its own: ${writer.child.stderr()}`);
    for (const line of writer.acks) {
      const [, partition, baseOffset, lastOffset, producer, seq] = line.split(' ').map(Number);
      acks[partition!]!.set(baseOffset!, { id: formatBatchId({ run, producer: producer!, seq: seq! }), lastOffset: lastOffset! });
    }
    acked += writer.acks.length;
    deleted += await checkRetentionFile(file, acks);
  }
  spare.child.kill();
  assert.ok(deleted > 0, 'retention never freed anything: the test did not exercise it');
  t.diagnostic(`${kills} kills, ${acked} acknowledged appends; extents of ${CRASH_EXTENT_SIZE} bytes`);
});
