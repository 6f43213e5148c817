// Log compaction: for random keyed workloads (fast-check, injected clock) the records readable after
// compaction match a model (latest value per key, tombstones gone after delete.retention.ms) at their
// original offsets; the tail extent is never touched; a reader keeps a consistent view; no extent leaks
// after reopening. A writer SIGKILLed while compacting is maintenance-crash.test.ts's.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Engine } from '../../src/storage/engine.ts';
import { verifyDatabase } from '../../src/storage/verify.ts';
import { sleep } from './helpers/child-script.ts';
import { assertAccounted } from './helpers/extent-accounting.ts';
import { readAll, type Rec } from './helpers/read-back.ts';

const EXTENT = 64 * 1024;
const T0 = 1_800_000_000_000;
const DELETE_RETENTION = 1000;

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-compaction-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}


const op = fc.record({
  key: fc.option(fc.integer({ min: 0, max: 5 }), { freq: 8 }),
  tombstone: fc.boolean(),
  size: fc.integer({ min: 1, max: 3000 }),
  advance: fc.integer({ min: 0, max: 400 }),
});

test('compaction keeps the latest record per key at its offset, drops old tombstones, never touches the tail', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), fc.integer({ min: 0, max: 2000 }), async (ops, lag) => {
      const file = path.join(dir, `p${String(run++)}.onelog`);
      let now = T0;
      const db = await Engine.open(file, { extentSize: EXTENT, sync: 'none', clock: () => now });
      try {
        // A huge lag holds back the compaction that runs on its own while appending; the real one is set below.
        await db.createTopic('c', { configs: { 'cleanup.policy': 'compact', 'delete.retention.ms': String(DELETE_RETENTION), 'min.compaction.lag.ms': String(10 * T0) } });
        const written: Rec[] = [];
        for (const o of ops) {
          now += o.advance;
          const key = o.key === null ? null : `k${String(o.key)}`;
          const value = key !== null && o.tombstone ? null : 'v'.repeat(o.size) + String(written.length);
          // Two records per batch now and then, so compaction re-encodes partly kept batches with gaps.
          const records = [{ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), headers: [], timestamp: now }];
          const r = await db.append('c', 0, o.size % 3 === 0 ? [...records, { ...records[0]!, key: Buffer.from('pair'), value: Buffer.from('p') }] : records);
          written.push({ offset: r.baseOffset, key, value, timestamp: now });
          if (r.lastOffset > r.baseOffset) written.push({ offset: r.lastOffset, key: 'pair', value: 'p', timestamp: now });
        }
        now += 500;
        const before = readAll(db, 'c');
        const layoutBefore = db.layout().partitions[0]!;
        const tail = layoutBefore.extents.at(-1)!;
        const tailBytes = Buffer.from(db.read('c', 0, Math.max(tail[1], db.logStartOffset('c', 0)), { maxBytes: EXTENT }).records);
        await db.alterTopicConfigs('c', { 'min.compaction.lag.ms': String(lag) });
        await db.runCompaction();
        const after = readAll(db, 'c');
        // The model: region = records in extents compactable at `now`; the rest unchanged.
        const extents = layoutBefore.extents;
        let count = 0;
        while (count < extents.length - 1 && extents[count]![2] <= now - lag) count++;
        const regionEnd = extents[count]![1];
        const latest = new Map<string, number>();
        for (const r of written) if (r.offset < regionEnd && r.key !== null) latest.set(r.key, r.offset);
        const expected = written.filter((r) => {
          if (r.offset >= regionEnd || r.key === null) return true;
          if (latest.get(r.key) !== r.offset) return false;
          return r.value !== null || now - r.timestamp <= DELETE_RETENTION;
        });
        assert.deepEqual(after, expected);
        assert.deepEqual(before, written);
        // Folding the log into a Map gives the same latest values per key as before (tombstones delete).
        const fold = (rs: Rec[]): Map<string, string> => {
          const m = new Map<string, string>();
          for (const r of rs) {
            if (r.key === null) continue;
            if (r.value === null) m.delete(r.key);
            else m.set(r.key, r.value);
          }
          return m;
        };
        assert.deepEqual(fold(after), fold(written));
        const layoutAfter = db.layout().partitions[0]!;
        assert.deepEqual(layoutAfter.extents.at(-1), tail, 'the tail extent changed');
        assert.ok(Buffer.from(db.read('c', 0, Math.max(tail[1], db.logStartOffset('c', 0)), { maxBytes: EXTENT }).records).equals(tailBytes), 'tail bytes changed');
        assert.equal(db.logStartOffset('c', 0), layoutBefore.logStartOffset);
        assertAccounted(db, 'after compaction');
        // A second run finds nothing more.
        assert.equal((await db.runCompaction()).removedRecords, 0);
      } finally {
        await db.close();
      }
      const reopened = await Engine.open(file, { extentSize: EXTENT });
      try {
        assertAccounted(reopened, 'after reopening');
        assert.deepEqual(verifyDatabase(reopened).damage, []);
      } finally {
        await reopened.close();
      }
    }),
    { numRuns: 40 },
  );
});

test('a reader in another handle sees a consistent log while compaction runs', async (t) => {
  const file = path.join(tempDir(t), 'db.onelog');
  let now = T0;
  const writer = await Engine.open(file, { extentSize: EXTENT, sync: 'none', clock: () => now });
  t.after(() => writer.close());
  await writer.createTopic('c', { configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(10 * T0) } });
  const value = Buffer.alloc(2000, 1);
  for (let n = 0; n < 400; n++) {
    now += 1;
    await writer.append('c', 0, [{ key: Buffer.from(`k${String(n % 10)}`), value, headers: [], timestamp: now }]);
  }
  const reader = await Engine.open(file, { extentSize: EXTENT, readOnly: true });
  t.after(() => reader.close());
  const latestBefore = new Map<string, number>();
  for (const r of readAll(reader, 'c')) latestBefore.set(r.key!, r.offset);
  await writer.alterTopicConfigs('c', { 'min.compaction.lag.ms': '0' });
  const compacting = writer.runCompaction();
  for (let i = 0; i < 20; i++) {
    const seen = readAll(reader, 'c');
    const latest = new Map<string, number>();
    for (const r of seen) latest.set(r.key!, r.offset);
    assert.deepEqual(latest, latestBefore, 'a reader lost the latest record of a key');
    await sleep(1);
  }
  const result = await compacting;
  assert.ok(result.removedRecords > 0);
  const latest = new Map<string, number>();
  for (const r of readAll(reader, 'c')) latest.set(r.key!, r.offset);
  assert.deepEqual(latest, latestBefore);
});
