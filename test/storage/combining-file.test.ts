// The write combiner in front of the engine's file: held batches reach the file as one vectored write per
// run of adjacent batches, and never later than any other operation on the file. Checked against a model
// (the same operations applied directly, in order) and by the calls the file underneath receives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CombiningFile } from '../../src/storage/combining-file.ts';
import type { LockRange, StorageFile } from '../../src/storage/file-layer.ts';

/** An in-memory file that logs each call it receives. */
class MemoryFile implements StorageFile {
  bytes = Buffer.alloc(0);
  readonly calls: string[] = [];

  #grow(end: number): void {
    if (end > this.bytes.length) this.bytes = Buffer.concat([this.bytes, Buffer.alloc(end - this.bytes.length)]);
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.calls.push('read');
    const n = Math.max(0, Math.min(length, this.bytes.length - position));
    buffer.set(this.bytes.subarray(position, position + n), offset);
    return n;
  }

  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.calls.push(`write ${position}+${length}`);
    this.#grow(position + length);
    this.bytes.set(buffer.subarray(offset, offset + length), position);
  }

  writev(buffers: readonly Uint8Array[], position: number): void {
    const all = Buffer.concat(buffers);
    this.calls.push(`writev ${position}+${all.length} (${buffers.length})`);
    this.#grow(position + all.length);
    this.bytes.set(all, position);
  }

  datasync(): Promise<void> {
    this.calls.push('datasync');
    return Promise.resolve();
  }

  datasyncSync(): void {
    this.calls.push('datasyncSync');
  }

  zero(position: number, length: number): void {
    this.calls.push('zero');
    this.bytes.fill(0, position, Math.min(this.bytes.length, position + length));
  }

  truncate(size: number): void {
    this.calls.push('truncate');
    if (size < this.bytes.length) this.bytes = Buffer.from(this.bytes.subarray(0, size));
  }

  size(): number {
    this.calls.push('size');
    return this.bytes.length;
  }

  tryLock(range: LockRange, exclusive: boolean): boolean {
    this.calls.push(exclusive ? 'tryLock' : 'tryLock shared');
    return range.length > 0;
  }

  unlock(range: LockRange): void {
    this.calls.push(range.length > 0 ? 'unlock' : 'unlock (empty)');
  }

  close(): void {
    this.calls.push('close');
  }
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

test('adjacent held batches reach the file as one vectored write, only when flushed', () => {
  const file = new MemoryFile();
  const combining = new CombiningFile(file);
  combining.hold(bytes(10, 1), 100);
  combining.hold(bytes(20, 2), 110);
  combining.hold(bytes(5, 3), 130);
  assert.deepEqual(file.calls, []);
  combining.flush();
  assert.deepEqual(file.calls, ['writev 100+35 (3)']);
  assert.deepEqual([...file.bytes.subarray(100, 135)], [...bytes(10, 1), ...bytes(20, 2), ...bytes(5, 3)]);
  combining.flush();
  assert.equal(file.calls.length, 1);
});

test('batches of interleaved partitions make one run per partition', () => {
  const file = new MemoryFile();
  const combining = new CombiningFile(file);
  for (let i = 0; i < 4; i++) {
    combining.hold(bytes(8, 1), 1000 + i * 8);
    combining.hold(bytes(8, 2), 5000 + i * 8);
  }
  combining.flush();
  assert.deepEqual(file.calls.toSorted(), ['writev 1000+32 (4)', 'writev 5000+32 (4)']);
});

test('every other operation issues what is held first', () => {
  const ops: [string, (f: CombiningFile) => unknown][] = [
    ['read', (f) => f.read(Buffer.alloc(4), 0, 4, 0)],
    ['write 0+4', (f) => f.write(bytes(4, 9), 0, 4, 0)],
    ['writev 0+4 (2)', (f) => f.writev([bytes(2, 9), bytes(2, 9)], 0)],
    ['datasync', (f) => f.datasync()],
    ['datasyncSync', (f) => f.datasyncSync()],
    ['zero', (f) => f.zero(0, 4)],
    ['truncate', (f) => f.truncate(1 << 20)],
    ['size', (f) => f.size()],
    ['tryLock', (f) => f.tryLock({ position: 1, length: 1 }, true)],
    ['unlock', (f) => f.unlock({ position: 1, length: 1 })],
    ['close', (f) => f.close()],
  ];
  for (const [call, op] of ops) {
    const file = new MemoryFile();
    const combining = new CombiningFile(file);
    combining.hold(bytes(16, 7), 64);
    op(combining);
    assert.deepEqual(file.calls, ['write 64+16', call], call);
  }
});

test('an overlapping batch issues the held ones first, so the later bytes win', () => {
  const file = new MemoryFile();
  const combining = new CombiningFile(file);
  combining.hold(bytes(16, 1), 0);
  combining.hold(bytes(8, 2), 4);
  combining.flush();
  assert.deepEqual(file.calls, ['write 0+16', 'write 4+8']);
  assert.deepEqual([...file.bytes], [...bytes(4, 1), ...bytes(8, 2), ...bytes(4, 1)]);
});

type Op = { kind: 'hold' | 'write'; position: number; data: Uint8Array } | { kind: 'read'; position: number; length: number } | { kind: 'flush' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('hold' as const), position: fc.integer({ min: 0, max: 300 }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('write' as const), position: fc.integer({ min: 0, max: 300 }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), position: fc.integer({ min: 0, max: 340 }), length: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

test('whatever the holds, writes and reads, the file ends as if every write went straight to it in order', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const model = new MemoryFile();
      const file = new MemoryFile();
      const combining = new CombiningFile(file);
      for (const o of ops) {
        if (o.kind === 'flush') {
          combining.flush();
        } else if (o.kind === 'read') {
          const expected = Buffer.alloc(o.length);
          const got = Buffer.alloc(o.length);
          assert.equal(combining.read(got, 0, o.length, o.position), model.read(expected, 0, o.length, o.position));
          assert.deepEqual(got, expected);
        } else {
          // The combiner holds a buffer it is handed: each hold gets its own copy, as the engine's batches are.
          const data = Buffer.from(o.data);
          if (o.kind === 'hold') combining.hold(data, o.position);
          else combining.write(data, 0, data.length, o.position);
          model.write(data, 0, data.length, o.position);
        }
      }
      combining.flush();
      assert.deepEqual(file.bytes, model.bytes);
    }),
  );
});
