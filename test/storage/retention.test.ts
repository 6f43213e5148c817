// Retention and space reuse: whole sealed extents past retention.ms (injected clock) or retention.bytes are
// freed, logStartOffset advances, reads below it fail, newer batches stay byte for byte, freed extents are
// reused before the file grows, the file stops growing under a steady load, and free + owned extents
// account for the whole file after reopening. A writer SIGKILLed while retention runs is
// maintenance-crash.test.ts's.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type EngineOptions } from '../../src/storage/engine.ts';
import { DATA_START } from '../../src/format/file-layout.ts';
import { decodeRecords } from '../../src/format/record-batch.ts';
import { rejectsWith } from '../helpers/rejects-with.ts';
import { sleep } from './helpers/child-script.ts';
import { assertAccounted } from './helpers/extent-accounting.ts';
import { batchesFrom } from './helpers/read-back.ts';

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
