// Partitioner tests: murmur2 against Kafka's own UtilsTest vectors, a fixed key -> partition table for 3,
// 7 and 12 partitions (derived with an independent BigInt implementation of Java's Utils.murmur2 and
// cross-checked against kafkajs' Java-compatible murmur2), and the DefaultPartitioner's rules. No I/O.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DefaultPartitioner, murmur2, partitionForKey, toPositive } from '../../src/client/partitioner.ts';
import type { PartitionMetadata } from '../../src/client/types.ts';

test('murmur2 matches the vectors of Kafka UtilsTest.testMurmur2', () => {
  const vectors: [Uint8Array, number][] = [
    [Buffer.from('21'), -973932308],
    [Buffer.from('foobar'), -790332482],
    [Buffer.from('a-little-bit-long-string'), -985981536],
    [Buffer.from('a-little-bit-longer-string'), -1486304829],
    [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
    [Buffer.from([97, 98, 99]), 479470107],
    [Buffer.from([12, 42, 56, 24, 109, 111]), 274204207],
  ];
  for (const [data, expected] of vectors) assert.equal(murmur2(data), expected, Buffer.from(data).toString('hex'));
});

test('toPositive clears the sign bit rather than negating', () => {
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(12345), 12345);
});

// [key, murmur2(utf8 key), partition of 3, of 7, of 12]
const TABLE: readonly (readonly [string, number, number, number, number])[] = [
  ['', 275646681, 0, 2, 9],
  ['a', -1563381124, 1, 5, 4],
  ['ab', 316155434, 2, 0, 2],
  ['abc', 479470107, 0, 4, 3],
  ['abcd', -1323649548, 2, 5, 8],
  ['abcde', 461995741, 1, 4, 1],
  ['21', -973932308, 0, 3, 0],
  ['foobar', -790332482, 0, 0, 6],
  ['user-1', 1404122828, 2, 3, 8],
  ['user-2', -324981792, 2, 0, 8],
  ['user-42', 1459644460, 1, 1, 4],
  ['order:1001', -387652882, 1, 1, 10],
  ['ключ', 2122343024, 2, 4, 8],
  ['日本語のキー', -734675706, 2, 0, 2],
  ['🔥🚀', -402417674, 0, 1, 6],
  ['é', 186971271, 0, 4, 3],
  ['a-little-bit-long-string', -985981536, 2, 1, 8],
  ['a-little-bit-longer-string', -1486304829, 2, 0, 11],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, 2, 3, 5],
  ['x'.repeat(1000), -1068453602, 0, 3, 6],
  ['The quick brown fox jumps over the lazy dog', 495243318, 0, 3, 6],
  ['0', 971027396, 2, 3, 8],
  [' ', -987232127, 0, 2, 9],
  ['null', -75681477, 2, 5, 11],
];

test('keyed records land where Kafka\'s default partitioner puts them (3, 7 and 12 partitions)', () => {
  for (const [key, hash, p3, p7, p12] of TABLE) {
    const label = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    assert.equal(murmur2(Buffer.from(key, 'utf8')), hash, label);
    assert.equal(partitionForKey(key, 3), p3, `${label} / 3`);
    assert.equal(partitionForKey(key, 7), p7, `${label} / 7`);
    assert.equal(partitionForKey(key, 12), p12, `${label} / 12`);
    assert.equal(partitionForKey(Buffer.from(key, 'utf8'), 12), p12, `${label} as a Buffer / 12`);
  }
});

function metadata(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
}

test('DefaultPartitioner: explicit partition wins, keys hash, unkeyed records go round-robin', () => {
  const partition = DefaultPartitioner();
  const partitionMetadata = metadata(7);
  assert.equal(partition({ topic: 't', partitionMetadata, message: { key: 'user-1', value: 'v', partition: 6 } }), 6);
  assert.equal(partition({ topic: 't', partitionMetadata, message: { key: 'user-1', value: 'v' } }), 3);
  assert.equal(partition({ topic: 't', partitionMetadata, message: { key: Buffer.from('user-1'), value: 'v' } }), 3);
  const seen: number[] = [];
  for (let i = 0; i < 14; i++) seen.push(partition({ topic: 't', partitionMetadata, message: { value: 'v', key: null } }));
  for (let i = 1; i < seen.length; i++) assert.equal(seen[i], (seen[i - 1]! + 1) % 7, `round-robin step ${i}: ${seen.join(',')}`);
});
