// Compaction in bounded steps: what a pass keeps is merged into full extents (so compaction gives space
// back), and a pass spread over many steps stays correct when vacuum, retention, config changes, topic
// deletion and appends come between its steps: the latest record of every key survives at its offset,
// nothing is leaked, and the file verifies after reopening.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { verifyDatabase } from '../../src/storage/verify.ts';
import { assertAccounted } from './helpers/extent-accounting.ts';
import { readAll } from './helpers/read-back.ts';

const EXTENT = 64 * 1024;

function tempFile(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-compaction-steps-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'db.onelog');
}

type Latest = Map<string, { offset: number; value: string }>;

/**
 * A database with topic `c` under cleanup.policy delete, so that nothing is compacted while a test fills it
 * (it turns compaction on), closed after the test; and the map `fill` records c's latest values in.
 */
async function openUncompacted(t: TestContext): Promise<{ file: string; db: Engine; latest: Latest }> {
  const file = tempFile(t);
  const db = await Engine.open(file, { extentSize: EXTENT, sync: 'batch' });
  t.after(() => db.close());
  await db.createTopic('c', { configs: { 'cleanup.policy': 'delete', 'min.compaction.lag.ms': '0', 'retention.ms': '-1' } });
  return { file, db, latest: new Map() };
}

function extentCount(db: Engine, topic: string): number {
  return db.layout().partitions.find((p) => p.topic === topic && p.partition === 0)?.extents.length ?? 0;
}

/**
 * Appends `count` records in batches of 50 with keys `<keyPrefix>-<i % keys>`, recording in `latest` the
 * latest offset and value per key.
 */
async function fill(db: Engine, topic: string, count: number, keys: number, tag: string, latest: Latest, keyPrefix = 'key'): Promise<void> {
  for (let first = 0; first < count; first += 50) {
    const records = Array.from({ length: 50 }, (_, j) => ({
      key: Buffer.from(`${keyPrefix}-${String((first + j) % keys)}`),
      value: Buffer.from(`${tag}-${String(first + j)}-${'v'.repeat(200)}`),
      headers: [],
      timestamp: Date.now(),
    }));
    const { baseOffset } = await db.append(topic, 0, records);
    records.forEach((r, j) => latest.set(r.key.toString(), { offset: baseOffset + j, value: r.value.toString() }));
  }
}

function assertLatest(db: Engine, topic: string, latest: ReadonlyMap<string, { offset: number; value: string }>, what: string): void {
  const records = readAll(db, topic);
  const byOffset = new Map(records.map((r) => [r.offset, r]));
  for (const [key, l] of latest) {
    const r = byOffset.get(l.offset);
    assert.ok(r !== undefined && r.key === key && r.value === l.value, `${what}: the latest record of ${key} at ${String(l.offset)} is gone`);
  }
  const keys = new Set(records.filter((r) => r.key !== null).map((r) => r.key));
  assert.equal(keys.size, latest.size, `${what}: keys appeared or vanished`);
}

test('what compaction keeps is merged into full extents, and the extents it frees are reused', async (t) => {
  const { db, latest } = await openUncompacted(t);
  // About 80 extents of ~250-byte records over 400 keys: ~100 KiB live, two extents' worth.
  await fill(db, 'c', 20_000, 400, 'a', latest);
  const before = extentCount(db, 'c');
  assert.ok(before > 50, `${String(before)} extents`);
  await db.alterTopicConfigs('c', { 'cleanup.policy': 'compact' });
  const result = await db.runCompaction();
  // Every record but the latest of each key is removed, but for those in the tail extent (never compacted).
  assert.ok(result.removedRecords >= 20_000 - 400 - 300 && result.removedRecords <= 20_000 - 400, `${String(result.removedRecords)} removed`);
  assert.ok(extentCount(db, 'c') <= 4, `${String(extentCount(db, 'c'))} extents after compacting ${String(before)} with two extents of live data`);
  assertLatest(db, 'c', latest, 'after compaction');
  assertAccounted(db, 'after compaction');
  // The extents given back are free, and the same again goes into them before the file grows.
  const freed = db.stats();
  assert.ok(freed.freeExtents >= before - 6, `${String(freed.freeExtents)} free extents after compacting ${String(before)}`);
  await db.alterTopicConfigs('c', { 'cleanup.policy': 'delete' });
  await fill(db, 'c', 20_000, 400, 'b', latest);
  assert.ok(db.stats().extentCount <= freed.extentCount + 6, `the file grew from ${String(freed.extentCount)} to ${String(db.stats().extentCount)} extents`);
  await db.alterTopicConfigs('c', { 'cleanup.policy': 'compact' });
  await db.runCompaction();
  assertLatest(db, 'c', latest, 'after the second compaction');
});

test('a pass of many steps stays correct with vacuum, retention, config changes, deletes and appends between its steps', async (t) => {
  const { file, db, latest } = await openUncompacted(t);
  await db.createTopic('log', { configs: { 'retention.bytes': String(4 * EXTENT) } });
  const logLatest: Latest = new Map();
  for (let round = 0; round < 3; round++) {
    // Scratch data deleted again leaves free extents for vacuum to move data into.
    await db.createTopic(`scratch-${String(round)}`);
    await fill(db, `scratch-${String(round)}`, 2000, 2000, 's', new Map());
    await fill(db, 'c', 12_000, 2000, `r${String(round)}`, latest);
    await db.deleteTopic(`scratch-${String(round)}`);
    await db.alterTopicConfigs('c', { 'cleanup.policy': 'compact' });
    let compacting = true;
    const interleaved = (async () => {
      for (let i = 0; compacting; i++) {
        if (i % 4 === 0) await db.vacuum();
        if (i % 4 === 1) await db.alterTopicConfigs('c', { 'delete.retention.ms': String(86_400_000 + i) });
        if (i % 4 === 2) await fill(db, 'log', 500, 50, `l${String(i)}`, logLatest);
        if (i % 4 === 3) await db.runRetention();
        await fill(db, 'c', 100, 2000, `i${String(round)}-${String(i)}`, latest);
      }
    })();
    const result = await db.runCompaction();
    compacting = false;
    await interleaved;
    assert.ok(result.steps > 1, `round ${String(round)}: one step did the whole pass, so nothing came between steps`);
    assertLatest(db, 'c', latest, `round ${String(round)}`);
    assertAccounted(db, `round ${String(round)}`);
    await db.alterTopicConfigs('c', { 'cleanup.policy': 'delete' });
  }
  await db.alterTopicConfigs('c', { 'cleanup.policy': 'compact' });
  await db.runCompaction();
  assertLatest(db, 'c', latest, 'after a last pass');
  await db.close();
  const reopened = await Engine.open(file, { extentSize: EXTENT });
  t.after(() => reopened.close());
  assertAccounted(reopened, 'after reopening');
  assert.deepEqual(verifyDatabase(reopened).damage, []);
  assertLatest(reopened, 'c', latest, 'after reopening');
  const keys = new Set(readAll(reopened, 'c').map((r) => r.key));
  assert.equal(keys.size, 2000);
});

test('a rewrite spread over steps keeps records of extents sealed after its pass folded its keys in', async (t) => {
  const { db, latest } = await openUncompacted(t);
  // Few keys: the rewrite's output never fills, so it runs on to the last extent it may take, over many
  // steps, while extents the pass has not folded in are sealed: their keys (new ones, each repeated) must
  // not be taken for superseded.
  await fill(db, 'c', 40_000, 20, 'old', latest);
  await db.alterTopicConfigs('c', { 'cleanup.policy': 'compact' });
  const compaction = { running: true };
  const appending = (async () => {
    // Bounded: compaction at its paced share of the writer lock does not keep up with an endless writer.
    for (let round = 0; compaction.running && round < 40; round++) await fill(db, 'c', 500, 5, 'new', latest, `round${String(round)}`);
  })();
  const result = await db.runCompaction();
  compaction.running = false;
  await appending;
  assert.ok(result.steps > 1);
  assertLatest(db, 'c', latest, 'after compacting while newer records came');
  await db.runCompaction();
  assertLatest(db, 'c', latest, 'after a second pass');
});
