// The compaction pass's key-to-latest-offset map against a model (a Map keyed by the bytes as hex):
// every lookup and every raise agrees, whatever the keys (empty, long, sharing prefixes, differing in one
// byte, longer than a chunk of key bytes), wherever in a buffer the key's bytes lie, and however far the
// table grows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyOffsetMap } from '../../src/storage/key-offset-map.ts';

const key = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 3 }),
  fc.uint8Array({ minLength: 0, maxLength: 40 }),
  // Keys alike but for their last byte, to meet in the table.
  fc.integer({ min: 0, max: 255 }).map((b) => Uint8Array.from([7, 7, 7, 7, 7, 7, 7, b])),
);

/** get and raise of a whole array as the key. */
const getKey = (map: KeyOffsetMap, k: Uint8Array): number | undefined => map.get(k, 0, k.length);
const raiseKey = (map: KeyOffsetMap, k: Uint8Array, offset: number): boolean => map.raise(k, 0, k.length, offset);

test('KeyOffsetMap agrees with a Map model on every get and raise', () => {
  // Each raise finds its key amid other bytes (as compaction finds keys inside a batch); lookups use the key alone.
  const op = fc.record({ key, offset: fc.integer({ min: 0, max: 1_000_000 }), before: fc.uint8Array({ maxLength: 4 }), after: fc.uint8Array({ maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000, size: 'max' }), (ops) => {
      const map = new KeyOffsetMap();
      const model = new Map<string, number>();
      for (const { key: k, offset, before: prefix, after: suffix } of ops) {
        const name = Buffer.from(k).toString('hex');
        const before = model.get(name);
        const amid = Buffer.concat([prefix, k, suffix]);
        assert.equal(map.get(amid, prefix.length, k.length), before);
        assert.equal(map.raise(amid, prefix.length, k.length, offset), before !== undefined && before < offset);
        if (before === undefined || before < offset) model.set(name, offset);
        assert.equal(getKey(map, k), model.get(name));
      }
      assert.equal(map.size, model.size);
      for (const [name, offset] of model) assert.equal(getKey(map, Buffer.from(name, 'hex')), offset);
    }),
    { numRuns: 200 },
  );
});

test('KeyOffsetMap holds a million distinct keys exactly', () => {
  const map = new KeyOffsetMap();
  const k = Buffer.alloc(16);
  for (let i = 0; i < 1_000_000; i++) {
    k.writeUInt32BE(i, 12);
    raiseKey(map, k, i * 2);
  }
  assert.equal(map.size, 1_000_000);
  for (let i = 0; i < 1_000_000; i += 997) {
    k.writeUInt32BE(i, 12);
    assert.equal(getKey(map, k), i * 2);
  }
  k.writeUInt32BE(1_000_000, 12);
  assert.equal(getKey(map, k), undefined);
});

test('KeyOffsetMap keeps keys longer than its key-byte chunks, among short ones, exactly', () => {
  const map = new KeyOffsetMap();
  const long = (fill: number, length: number): Buffer => Buffer.alloc(length, fill);
  const keys = [long(1, 3 << 20), Buffer.from('a'), long(2, (1 << 20) - 1), long(2, 1 << 20), Buffer.from('b'), long(3, 70_000), long(1, (3 << 20) - 1)];
  keys.forEach((k, i) => assert.equal(raiseKey(map, k, i), false));
  keys.forEach((k, i) => assert.equal(getKey(map, k), i));
  // One byte changed at the end of the longest key is another key.
  const changed = Buffer.from(keys[0]!);
  changed[changed.length - 1] = 9;
  assert.equal(getKey(map, changed), undefined);
  assert.equal(raiseKey(map, keys[0]!, 100), true);
  assert.equal(getKey(map, keys[0]!), 100);
  assert.equal(map.size, keys.length);
});
