// Rolling the tail extent by time: segment.ms seals it once a batch's timestamp is more than that after the
// extent's first batch (as Kafka rolls a segment), so retention by time can free it; for a compacted topic
// max.compaction.lag.ms does the same when smaller, so records do not wait in the never-compacted tail.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { decodeRecords } from '../../src/format/record-batch.ts';
import { assertAccounted } from './helpers/extent-accounting.ts';

const EXTENT = 64 * 1024;
const T0 = 1_800_000_000_000;

function tempFile(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-roll-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'db.onelog');
}

function firstOffsets(db: Engine, topic: string): number[] {
  const p = db.layout().partitions.find((x) => x.topic === topic && x.partition === 0);
  assert.ok(p !== undefined);
  return p.extents.map((e) => e[1]);
}

/** A fresh file opened with a clock at T0, which the test moves by setting `clock.now`. */
async function openClocked(t: TestContext, sync: 'none' | 'batch'): Promise<{ db: Engine; clock: { now: number } }> {
  const clock = { now: T0 };
  const db = await Engine.open(tempFile(t), { extentSize: EXTENT, sync, clock: () => clock.now });
  t.after(() => db.close());
  return { db, clock };
}

function record(key: string, value: string | null, timestamp: number): { key: Buffer; value: Buffer | null; headers: []; timestamp: number }[] {
  return [{ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), headers: [], timestamp }];
}

test('segment.ms rolls the tail extent by the batches\' timestamps, and retention by time then frees the old one', async (t) => {
  const { db, clock } = await openClocked(t, 'none');
  await db.createTopic('roll', { configs: { 'segment.ms': '1000', 'retention.ms': '5000' } });
  await db.append('roll', 0, record('a', '1', T0));
  await db.append('roll', 0, record('a', '2', T0 + 1000));
  assert.deepEqual(firstOffsets(db, 'roll'), [0], 'exactly segment.ms later does not roll');
  await db.append('roll', 0, record('a', '3', T0 + 1001));
  assert.deepEqual(firstOffsets(db, 'roll'), [0, 2]);
  // The roll is measured from the new extent's first batch, not from the first extent's.
  await db.append('roll', 0, record('a', '4', T0 + 1500));
  assert.deepEqual(firstOffsets(db, 'roll'), [0, 2]);
  await db.append('roll', 0, record('a', '5', T0 + 2002));
  assert.deepEqual(firstOffsets(db, 'roll'), [0, 2, 4]);
  clock.now = T0 + 1001 + 5000 + 1;
  const result = await db.runRetention();
  assert.equal(result.freedExtents, 1);
  assert.equal(db.logStartOffset('roll', 0), 2);
  assertAccounted(db, 'after retention');
});

test('a reopened handle rolls from the first batch it finds in the tail extent', async (t) => {
  const file = tempFile(t);
  const first = await Engine.open(file, { extentSize: EXTENT, sync: 'batch' });
  await first.createTopic('roll', { configs: { 'segment.ms': '1000' } });
  await first.append('roll', 0, record('a', '1', T0));
  await first.append('roll', 0, record('a', '2', T0 + 900));
  await first.close();
  const db = await Engine.open(file, { extentSize: EXTENT, sync: 'batch' });
  t.after(() => db.close());
  await db.append('roll', 0, record('a', '3', T0 + 999));
  assert.deepEqual(firstOffsets(db, 'roll'), [0]);
  await db.append('roll', 0, record('a', '4', T0 + 1001));
  assert.deepEqual(firstOffsets(db, 'roll'), [0, 3]);
});

test('LogAppendTime topics roll by append time, and batches without timestamps never roll by time', async (t) => {
  const { db, clock } = await openClocked(t, 'none');
  await db.createTopic('append-time', { configs: { 'segment.ms': '1000', 'message.timestamp.type': 'LogAppendTime' } });
  await db.append('append-time', 0, record('a', '1', 0));
  clock.now += 2000;
  await db.append('append-time', 0, record('a', '2', 0));
  assert.deepEqual(firstOffsets(db, 'append-time'), [0, 1]);
  await db.createTopic('untimed', { configs: { 'segment.ms': '1' } });
  await db.append('untimed', 0, record('a', '1', -1));
  await db.append('untimed', 0, record('a', '2', -1));
  assert.deepEqual(firstOffsets(db, 'untimed'), [0]);
});

test('max.compaction.lag.ms rolls a compacted topic\'s tail, so its superseded records are compacted away', async (t) => {
  const { db, clock } = await openClocked(t, 'batch');
  const configs = { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0', 'max.compaction.lag.ms': '1000' };
  await db.createTopic('lagged', { configs });
  await db.createTopic('unbounded', { configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' } });
  for (const topic of ['lagged', 'unbounded']) {
    await db.append(topic, 0, record('k', 'old', T0));
    await db.append(topic, 0, record('k', 'new', T0 + 10));
    await db.append(topic, 0, record('other', 'x', T0 + 2000));
  }
  assert.deepEqual(firstOffsets(db, 'lagged'), [0, 2]);
  assert.deepEqual(firstOffsets(db, 'unbounded'), [0], 'without max.compaction.lag.ms the default segment.ms (7 days) keeps one extent');
  clock.now = T0 + 3000;
  const result = await db.runCompaction();
  assert.deepEqual(
    result.partitions.map((p) => [p.topic, p.removedRecords]),
    [['lagged', 1]],
  );
  assert.deepEqual(
    decodeRecords(db.read('lagged', 0, 0).records).map((r) => [r.offset, r.value?.toString()]),
    [[1, 'new']],
  );
  // max.compaction.lag.ms only matters for compacted topics.
  await db.createTopic('deleting', { configs: { 'max.compaction.lag.ms': '1000' } });
  await db.append('deleting', 0, record('k', '1', T0));
  await db.append('deleting', 0, record('k', '2', T0 + 2000));
  assert.deepEqual(firstOffsets(db, 'deleting'), [0]);
});
