// Group commit under sync 'batch' when many producers append at once: a full group (FULL_GROUP_BYTES of
// appends) starts its fdatasync while the rest of a burst is still arriving, and without waiting out the
// group-commit window; everything acknowledged is read back in order; a group over several partitions
// publishes their tail slots in one write. The fdatasyncs and writes are counted by a file system that wraps
// the real one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type AppendResult } from '../../src/storage/engine.ts';
import type { FileSystem, LockRange, OpenFileOptions, StorageFile } from '../../src/storage/file-layer.ts';
import { nodeFileSystem } from '../../src/storage/node-file-layer.ts';
import { batchTotalSize, decodeRecords, type RecordInput } from '../../src/format/record-batch.ts';
import { SLOT_SIZE, slotPosition } from '../../src/format/file-layout.ts';

/** What the engine did to its file: fdatasyncs begun, and every write as its position and buffer count. */
interface Counts {
  syncs: number;
  readonly writes: { readonly position: number; readonly length: number; readonly buffers: number }[];
}

/** The real file, counting the fdatasyncs begun on it and logging its writes. */
class CountingFile implements StorageFile {
  readonly #file: StorageFile;
  readonly #counts: Counts;

  constructor(file: StorageFile, counts: Counts) {
    this.#file = file;
    this.#counts = counts;
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    return this.#file.read(buffer, offset, length, position);
  }
  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.#counts.writes.push({ position, length, buffers: 1 });
    this.#file.write(buffer, offset, length, position);
  }
  writev(buffers: readonly Uint8Array[], position: number): void {
    this.#counts.writes.push({ position, length: buffers.reduce((sum, b) => sum + b.length, 0), buffers: buffers.length });
    this.#file.writev(buffers, position);
  }
  datasync(): Promise<void> {
    this.#counts.syncs++;
    return this.#file.datasync();
  }
  datasyncSync(): void {
    this.#counts.syncs++;
    this.#file.datasyncSync();
  }
  zero(position: number, length: number): void {
    this.#file.zero(position, length);
  }
  truncate(size: number): void {
    this.#file.truncate(size);
  }
  size(): number {
    return this.#file.size();
  }
  tryLock(range: LockRange, exclusive: boolean): boolean {
    return this.#file.tryLock(range, exclusive);
  }
  unlock(range: LockRange): void {
    this.#file.unlock(range);
  }
  close(): void {
    this.#file.close();
  }
}

/** A window so long that an append waiting it out would never finish within the test. */
const LONG_WINDOW_MS = 600_000;
const PRODUCERS = 64;

async function openCounting(groupCommitWindowMs = LONG_WINDOW_MS, partitions = 1): Promise<{ engine: Engine; counts: Counts }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-group-commit-'));
  const counts: Counts = { syncs: 0, writes: [] };
  const fileSystem: FileSystem = {
    open: (p: string, options: OpenFileOptions) => new CountingFile(nodeFileSystem.open(p, options), counts),
    create: (p: string, initial: Uint8Array) => nodeFileSystem.create(p, initial),
  };
  const engine = await Engine.open(path.join(dir, 'db.onelog'), { sync: 'batch', groupCommitWindowMs, fileSystem });
  await engine.createTopic('t', { partitions });
  return { engine, counts };
}

/** 100 records of 16-byte keys and 100-byte values: about 12 KiB, as the benchmark's many producers send. */
function batchOf(producer: number, round: number): RecordInput[] {
  return Array.from({ length: 100 }, (_, i) => ({
    key: Buffer.from(`p${String(producer).padStart(3, '0')}-r${round}-${String(i).padStart(4, '0')}`.padEnd(16, '.')),
    value: Buffer.alloc(100, producer),
    timestamp: 1_767_225_600_000,
  }));
}

/** Fails when `work` does not settle within `ms` (it would otherwise wait out the long window). */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms: a full group waited for the group-commit window`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('a burst of appends that makes a full group starts its fdatasync before the burst ends', async () => {
  const { engine, counts } = await openCounting();
  try {
    // One append first, so the writer holds the lock when the burst arrives (as after a group commit).
    await engine.append('t', 0, batchOf(999, 0));
    const before = counts.syncs;
    const burst: Promise<AppendResult>[] = [];
    for (let p = 0; p < PRODUCERS; p++) burst.push(engine.append('t', 0, batchOf(p, 1)));
    assert.ok(counts.syncs > before, 'an fdatasync began while the burst was being appended');
    await within(10_000, Promise.all(burst));
  } finally {
    await engine.close();
  }
});

test('appends arriving during an fdatasync that make a full group do not wait out the group-commit window', async () => {
  const { engine } = await openCounting();
  try {
    await engine.append('t', 0, batchOf(999, 0));
    // The writer holds the lock: this append is written and its fdatasync begun by the next pump, which
    // runs before this setImmediate; the fdatasync's completion can only be handled after it.
    const first = engine.append('t', 0, batchOf(999, 1));
    await new Promise<void>((resolve) => setImmediate(resolve));
    const group: Promise<AppendResult>[] = [];
    for (let p = 0; p < PRODUCERS; p++) group.push(engine.append('t', 0, batchOf(p, 0)));
    await within(10_000, Promise.all([first, ...group]));
  } finally {
    await engine.close();
  }
});

test('rounds of many producers, grouped by full groups and bursts, read back as acknowledged', async () => {
  // The default window: a group that is not full may wait for it, so no round can hang.
  const { engine } = await openCounting(2);
  try {
    const rounds = 4;
    const results: AppendResult[][] = Array.from({ length: PRODUCERS }, () => []);
    const producer = async (p: number): Promise<void> => {
      for (let round = 0; round < rounds; round++) results[p]!.push(await engine.append('t', 0, batchOf(p, round)));
    };
    await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));
    // Every acknowledged batch is where its acknowledgement says, with its records in order.
    const read = engine.read('t', 0, 0, { maxBytes: 64 * 1024 * 1024 });
    const keys = new Map<number, string>();
    for (let pos = 0; pos < read.records.length; pos += batchTotalSize(read.records, pos)) {
      for (const r of decodeRecords(read.records, pos)) keys.set(r.offset, r.key!.toString());
    }
    for (let p = 0; p < PRODUCERS; p++) {
      results[p]!.forEach((result, round) => {
        const expected = batchOf(p, round).map((r) => r.key!.toString());
        const got = Array.from({ length: 100 }, (_, i) => keys.get(result.baseOffset + i));
        assert.deepEqual(got, expected, `producer ${p} round ${round}`);
      });
    }
    assert.equal(keys.size, PRODUCERS * rounds * 100);
  } finally {
    await engine.close();
  }
});

test('a group commit over several partitions writes their tail slots in one write, then the commit header', async () => {
  const partitions = 8;
  const { engine, counts } = await openCounting(2, partitions);
  try {
    await engine.append('t', 0, batchOf(999, 0));
    // A slot per partition now in use: the appends below only update them.
    await Promise.all(Array.from({ length: partitions }, (_, p) => engine.append('t', p, batchOf(p, 0))));
    counts.writes.length = 0;
    const results = await Promise.all(Array.from({ length: partitions }, (_, p) => engine.append('t', p, batchOf(p, 1))));
    const slotWrites = counts.writes.filter((w) => w.position > slotPosition(0) && w.position < slotPosition(0) + SLOT_SIZE * 1024);
    assert.deepEqual(
      slotWrites.map((w) => ({ length: w.length, buffers: w.buffers })),
      [{ length: partitions * SLOT_SIZE, buffers: partitions }],
      'the eight tail slots were written together',
    );
    const slotsAt = counts.writes.indexOf(slotWrites[0]!);
    const headerAt = counts.writes.findIndex((w) => w.position === slotPosition(0));
    assert.ok(headerAt > slotsAt, 'the commit header was written after the slots it publishes');
    for (let p = 0; p < partitions; p++) assert.equal(engine.highWatermark('t', p), results[p]!.lastOffset + 1);
  } finally {
    await engine.close();
  }
});
