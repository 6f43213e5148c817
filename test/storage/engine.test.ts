// Behaviour of the storage engine's API on a real file: topics, appends, reads, offsets by timestamp,
// group offsets, producer idempotence, configs, persistence across reopen, and its typed errors.
// Crash, power-loss, corruption and multi-process behaviour have their own test files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { OnelogError } from '../../src/errors.ts';
import { batchTotalSize, decodeRecords, encodeBatch, readBatchHeader, type DecodedRecord, type RecordInput } from '../../src/format/record-batch.ts';
import { FORMAT_VERSION, VERSION_OFFSET, HEADER_CRC_OFFSET } from '../../src/format/file-layout.ts';
import { crc32c } from '../../src/format/crc32c.ts';
import { rejectsWith } from '../helpers/rejects-with.ts';

function tempFile(name = 'db.onelog'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-engine-'));
  return path.join(dir, name);
}

function records(n: number, prefix: string, timestamp = 1_700_000_000_000): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`${prefix}-k${i}`),
    value: i % 5 === 0 ? Buffer.alloc(0) : Buffer.from(`${prefix}-v${i}`),
    headers: i % 2 === 0 ? [{ key: 'h', value: Buffer.from(String(i)) }] : [],
    timestamp: timestamp + i,
  }));
}

function readAll(db: Engine, topic: string, partition: number, from = 0): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let offset = from;
  const hw = db.highWatermark(topic, partition);
  while (offset < hw) {
    const res = db.read(topic, partition, offset, { maxBytes: 4096 });
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      for (const r of decodeRecords(res.records, pos)) if (r.offset >= from) out.push(r);
    }
    offset = res.nextOffset;
  }
  return out;
}

test('topics: create, list, describe, delete, with Kafka naming rules', async () => {
  const db = await Engine.open(tempFile());
  try {
    const info = await db.createTopic('orders.v1_x-y', { partitions: 3, configs: { 'compression.type': 'zstd' } });
    assert.equal(info.partitions, 3);
    assert.equal(info.configs['compression.type'], 'zstd');
    await db.createTopic('a');
    assert.deepEqual(db.listTopics().map((t) => t.name), ['a', 'orders.v1_x-y']);
    await rejectsWith(db.createTopic('a'), 'TOPIC_EXISTS');
    for (const bad of ['', '.', '..', 'a b', 'x'.repeat(250), 'ü']) await rejectsWith(() => db.createTopic(bad), 'INVALID_TOPIC_NAME');
    assert.equal('x'.repeat(249).length, 249);
    await db.createTopic('x'.repeat(249));
    await rejectsWith(() => db.createTopic('p0', { partitions: 0 }), 'INVALID_PARTITIONS');
    await rejectsWith(() => db.createTopic('c1', { configs: { 'no.such.config': '1' } }), 'INVALID_CONFIG');
    await rejectsWith(() => db.createTopic('c2', { configs: { 'cleanup.policy': 'sometimes' } }), 'INVALID_CONFIG');
    await db.deleteTopic('a');
    assert.equal(db.describeTopic('a'), undefined);
    await rejectsWith(db.deleteTopic('a'), 'UNKNOWN_TOPIC_OR_PARTITION');
    const grown = await db.createPartitions('orders.v1_x-y', 5);
    assert.equal(grown.partitions, 5);
    await rejectsWith(db.createPartitions('orders.v1_x-y', 2), 'INVALID_PARTITIONS');
    const altered = await db.alterTopicConfigs('orders.v1_x-y', { 'retention.ms': '1000', 'compression.type': null });
    assert.deepEqual(altered.configs, { 'retention.ms': '1000' });
  } finally {
    await db.close();
  }
});

test('append and read: offsets, whole batches, byte budget, exact record contents', async () => {
  // The records carry 2023 timestamps: infinite retention keeps them.
  const db = await Engine.open(tempFile(), { extentSize: 64 * 1024, topicDefaults: { 'retention.ms': '-1' } });
  try {
    await db.createTopic('t', { partitions: 2 });
    const all: RecordInput[] = [];
    for (let b = 0; b < 200; b++) {
      const batch = records(1 + (b % 7), `b${b}`.padEnd(200, "."));
      const res = await db.append('t', 1, batch);
      assert.equal(res.baseOffset, all.length);
      assert.equal(res.lastOffset, all.length + batch.length - 1);
      all.push(...batch);
    }
    assert.equal(db.highWatermark('t', 1), all.length);
    assert.equal(db.highWatermark('t', 0), 0);
    assert.equal(db.logStartOffset('t', 1), 0);
    const got = readAll(db, 't', 1);
    assert.equal(got.length, all.length);
    got.forEach((r, i) => {
      const want = all[i]!;
      assert.equal(r.offset, i);
      assert.deepEqual(r.key, want.key);
      assert.deepEqual(r.value, want.value);
      assert.deepEqual(r.headers, want.headers);
      assert.equal(r.timestamp, want.timestamp);
    });
    // A read from the middle of a batch returns that whole batch, as Kafka's fetch does.
    const mid = db.read('t', 1, 5, { maxBytes: 1 });
    const header = readBatchHeader(mid.records, 0);
    assert.ok(header.baseOffset <= 5 && header.baseOffset + header.lastOffsetDelta >= 5);
    assert.equal(batchTotalSize(mid.records, 0), mid.records.length, 'one whole batch despite maxBytes 1');
    assert.equal(readAll(db, 't', 1, 5)[0]!.offset, 5);
    // At the highWatermark: nothing; beyond: out of range.
    assert.equal(db.read('t', 1, all.length).records.length, 0);
    await rejectsWith(() => db.read('t', 1, all.length + 1), 'OFFSET_OUT_OF_RANGE');
    await rejectsWith(() => db.read('t', 1, -1), 'OFFSET_OUT_OF_RANGE');
    await rejectsWith(() => db.read('t', 9, 0), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(db.append('nope', 0, records(1, 'x')), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.ok(db.stats().extentCount > 3, 'small extents: the partition spans several');
  } finally {
    await db.close();
  }
});

test('data, topics and group offsets survive close and reopen', async () => {
  const file = tempFile();
  let db = await Engine.open(file);
  await db.createTopic('t', { partitions: 2, configs: { 'compression.type': 'gzip' } });
  await db.append('t', 0, records(10, 'a'));
  await db.append('t', 1, records(3, 'b'));
  await db.commitOffsets('g1', [{ topic: 't', partition: 0, offset: 7, metadata: 'm' }]);
  await db.close();
  await rejectsWith(() => db.read('t', 0, 0), 'CLOSED');
  db = await Engine.open(file);
  try {
    assert.deepEqual(db.listTopics().map((t) => [t.name, t.partitions, t.configs['compression.type']]), [['t', 2, 'gzip']]);
    assert.equal(db.highWatermark('t', 0), 10);
    assert.equal(db.highWatermark('t', 1), 3);
    assert.deepEqual(readAll(db, 't', 0).map((r) => r.value?.toString()), records(10, 'a').map((r) => r.value?.toString()));
    const committed = db.fetchOffsets('g1');
    assert.deepEqual(committed.map((o) => [o.topic, o.partition, o.offset, o.metadata]), [['t', 0, 7, 'm']]);
    assert.deepEqual(db.listGroups(), ['g1']);
    await db.deleteGroup('g1');
    assert.deepEqual(db.fetchOffsets('g1'), []);
    assert.equal((await db.append('t', 0, records(1, 'c'))).baseOffset, 10);
  } finally {
    await db.close();
  }
});

test('compression: the topic codec is applied and every codec reads back', async () => {
  const db = await Engine.open(tempFile());
  try {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      await db.createTopic(`c-${codec}`, { configs: { 'compression.type': codec } });
      await db.append(`c-${codec}`, 0, records(50, codec));
      const res = db.read(`c-${codec}`, 0, 0);
      assert.equal(readBatchHeader(res.records, 0).compression, codec);
      assert.deepEqual(readAll(db, `c-${codec}`, 0).map((r) => r.value?.toString()), records(50, codec).map((r) => r.value?.toString()));
    }
    // With compression.type=producer (the default) the producer's choice is kept, also for pre-built batches.
    await db.createTopic('p');
    await db.append('p', 0, records(5, 'x'), { compression: 'snappy' });
    assert.equal(readBatchHeader(db.read('p', 0, 0).records, 0).compression, 'snappy');
    await db.appendBatch('c-zstd', 0, encodeBatch({ baseOffset: 0, records: records(4, 'y'), compression: 'gzip' }));
    const last = db.read('c-zstd', 0, 50);
    assert.equal(readBatchHeader(last.records, 0).compression, 'zstd', 'recompressed to the topic codec');
  } finally {
    await db.close();
  }
});

test('appendBatch stores the producer bytes, assigning baseOffset; damaged batches are refused', async () => {
  const db = await Engine.open(tempFile());
  try {
    await db.createTopic('t');
    await db.append('t', 0, records(3, 'first'));
    const batch = encodeBatch({ baseOffset: 0, records: records(4, 'kafka'), compression: 'lz4' });
    const res = await db.appendBatch('t', 0, batch);
    assert.equal(res.baseOffset, 3);
    const stored = db.read('t', 0, 3).records;
    assert.deepEqual(stored.subarray(12 + 4 + 1 + 4), batch.subarray(12 + 4 + 1 + 4), 'bytes after the CRC are as sent');
    assert.equal(readBatchHeader(stored, 0).baseOffset, 3);
    const damaged = Buffer.from(batch);
    damaged[damaged.length - 1]! ^= 0xff;
    await rejectsWith(() => db.appendBatch('t', 0, damaged), 'CORRUPT_BATCH');
    await rejectsWith(() => db.appendBatch('t', 0, batch.subarray(0, 30)), 'CORRUPT_BATCH');
  } finally {
    await db.close();
  }
});

test('max.message.bytes: a batch over it is refused with RECORD_TOO_LARGE and nothing is written', async () => {
  const db = await Engine.open(tempFile());
  try {
    await db.createTopic('t', { configs: { 'max.message.bytes': '1000' } });
    await rejectsWith(db.append('t', 0, [{ key: null, value: Buffer.alloc(2000), timestamp: 1 }]), 'RECORD_TOO_LARGE');
    assert.equal(db.highWatermark('t', 0), 0);
    await db.append('t', 0, [{ key: null, value: Buffer.alloc(10), timestamp: 1 }]);
    assert.equal(db.highWatermark('t', 0), 1);
    await rejectsWith(() => db.createTopic('huge', { configs: { 'max.message.bytes': String(1 << 30) } }), 'INVALID_CONFIG');
  } finally {
    await db.close();
  }
});

test('offsetForTimestamp finds the first offset whose timestamp is >= t', async () => {
  const db = await Engine.open(tempFile(), { extentSize: 64 * 1024 });
  try {
    await db.createTopic('t');
    for (let b = 0; b < 100; b++) await db.append('t', 0, records(10, `b${b}`, 1_000_000 + b * 100));
    // Record i of batch b has timestamp 1_000_000 + b*100 + i; offset = b*10 + i.
    assert.deepEqual(db.offsetForTimestamp('t', 0, 0), { offset: 0, timestamp: 1_000_000 });
    assert.deepEqual(db.offsetForTimestamp('t', 0, 1_000_000 + 4215), { offset: 430, timestamp: 1_000_000 + 4300 });
    assert.deepEqual(db.offsetForTimestamp('t', 0, 1_000_000 + 4203), { offset: 423, timestamp: 1_000_000 + 4203 });
    assert.equal(db.offsetForTimestamp('t', 0, 9_000_000), null);
  } finally {
    await db.close();
  }
});

test('LogAppendTime topics stamp the broker time on the batch', async () => {
  const db = await Engine.open(tempFile(), { clock: () => 42_000 });
  try {
    await db.createTopic('t', { configs: { 'message.timestamp.type': 'LogAppendTime' } });
    const res = await db.append('t', 0, records(3, 'x', 5));
    assert.equal(res.logAppendTime, 42_000);
    const header = readBatchHeader(db.read('t', 0, 0).records, 0);
    assert.equal(header.timestampType, 'log-append');
    assert.equal(header.maxTimestamp, 42_000);
  } finally {
    await db.close();
  }
});

test('idempotent producer: a retried batch is acknowledged with its first offsets, a gap is refused', async () => {
  const file = tempFile();
  let db = await Engine.open(file);
  const producerId = await db.allocateProducerId();
  assert.equal(await db.allocateProducerId(), producerId + 1);
  await db.createTopic('t');
  const send = (seq: number, n: number) => db.append('t', 0, records(n, `s${seq}`), { producerId, producerEpoch: 0, baseSequence: seq });
  const first = await send(0, 5);
  const second = await send(5, 5);
  assert.deepEqual(await send(5, 5), second, 'duplicate of the last batch');
  assert.deepEqual(await send(0, 5), first, 'duplicate of an earlier batch');
  assert.equal(db.highWatermark('t', 0), 10);
  await rejectsWith(send(20, 1), 'OUT_OF_ORDER_SEQUENCE');
  await db.append('t', 0, records(1, 'epoch1'), { producerId, producerEpoch: 1, baseSequence: 0 });
  await rejectsWith(db.append('t', 0, records(1, 'fenced'), { producerId, producerEpoch: 0, baseSequence: 10 }), 'INVALID_PRODUCER_EPOCH');
  await db.close();
  // Producer state is kept in the file: a retry after reopening is still recognised.
  db = await Engine.open(file);
  try {
    const retry = await db.append('t', 0, records(1, 'epoch1'), { producerId, producerEpoch: 1, baseSequence: 0 });
    assert.equal(retry.baseOffset, 10);
    assert.equal(db.highWatermark('t', 0), 11);
    assert.ok((await db.allocateProducerId()) > producerId + 1);
  } finally {
    await db.close();
  }
});

test('open refuses files that are not onelog databases, newer versions and bad options', async () => {
  const notOnelog = tempFile('text.txt');
  fs.writeFileSync(notOnelog, 'hello, this is not a database at all'.repeat(200));
  await rejectsWith(Engine.open(notOnelog), 'NOT_A_ONELOG_FILE');
  const empty = tempFile('empty.onelog');
  fs.writeFileSync(empty, '');
  await rejectsWith(Engine.open(empty), 'NOT_A_ONELOG_FILE');
  await rejectsWith(Engine.open(tempFile('missing.onelog'), { create: false }), 'FILE_NOT_FOUND');
  await rejectsWith(Engine.open(tempFile(), { extentSize: 1000 }), 'INVALID_ARGUMENT');
  await rejectsWith(Engine.open(tempFile(), { sync: 'sometimes' as 'none' }), 'INVALID_ARGUMENT');

  const newer = tempFile();
  await (await Engine.open(newer)).close();
  const bytes = fs.readFileSync(newer);
  bytes.writeUInt32LE(FORMAT_VERSION + 1, VERSION_OFFSET);
  bytes.writeUInt32LE(crc32c(bytes.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
  fs.writeFileSync(newer, bytes);
  const err = await rejectsWith(Engine.open(newer), 'NEWER_FORMAT_VERSION');
  assert.match(err.message, /upgrade onelog/);
});

test('a read-only handle reads but refuses writes', async () => {
  const file = tempFile();
  const writer = await Engine.open(file);
  await writer.createTopic('t');
  await writer.append('t', 0, records(4, 'x'));
  const reader = await Engine.open(file, { readOnly: true });
  try {
    assert.equal(readAll(reader, 't', 0).length, 4);
    await rejectsWith(() => reader.append('t', 0, records(1, 'y')), 'READ_ONLY');
    await writer.append('t', 0, records(2, 'z'));
    assert.equal(reader.highWatermark('t', 0), 6, 'sees commits of another handle');
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('two handles in one process: writes of one are visible to the other, follow-reads wake', async () => {
  const file = tempFile();
  const a = await Engine.open(file);
  const b = await Engine.open(file);
  try {
    await a.createTopic('t', { partitions: 2 });
    assert.equal(b.describeTopic('t')?.partitions, 2, 'metadata change seen by the other handle');
    const waiting = b.waitForData('t', 1, 0, 5000);
    await a.append('t', 1, records(3, 'x'));
    assert.equal(await waiting, true);
    assert.equal(readAll(b, 't', 1).length, 3);
    await b.append('t', 1, records(2, 'y'));
    assert.equal(a.highWatermark('t', 1), 5);
    assert.equal(await a.waitForData('t', 0, 0, 30), false, 'times out when nothing comes');
    await Promise.all([a.append('t', 0, records(1, 'p')), b.append('t', 0, records(1, 'q')), a.append('t', 0, records(1, 'r'))]);
    assert.equal(a.highWatermark('t', 0), 3);
    assert.deepEqual(readAll(a, 't', 0).map((r) => r.offset), [0, 1, 2]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('sync modes: concurrent appends all resolve, with contiguous offsets', async () => {
  for (const sync of ['always', 'batch', 'none'] as const) {
    const db = await Engine.open(tempFile(), { sync });
    try {
      await db.createTopic('t', { partitions: 3 });
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => db.append('t', i % 3, records(2, `r${i}`))));
      for (let p = 0; p < 3; p++) {
        const mine = results.filter((_, i) => i % 3 === p).map((r) => r.baseOffset).sort((x, y) => x - y);
        assert.deepEqual(mine, Array.from({ length: 20 }, (_, i) => i * 2), `${sync} partition ${p}`);
      }
    } finally {
      await db.close();
    }
  }
});

test('deleting a topic frees its extents for reuse', async () => {
  const db = await Engine.open(tempFile(), { extentSize: 64 * 1024 });
  try {
    await db.createTopic('big');
    for (let i = 0; i < 40; i++) await db.append('big', 0, [{ key: null, value: Buffer.alloc(10_000, i), timestamp: 1 }]);
    const before = db.stats();
    await db.deleteTopic('big');
    await db.createTopic('small');
    await db.append('small', 0, records(3, 's'));
    const after = db.stats();
    assert.ok(after.freeExtents > 0);
    assert.equal(after.extentCount, before.extentCount, 'no new extent: a freed one was reused');
    assert.equal(readAll(db, 'small', 0).length, 3);
  } finally {
    await db.close();
  }
});

test('documents: atomic read-modify-write of named JSON, shared between handles and kept across reopen', async () => {
  const file = tempFile();
  const a = await Engine.open(file);
  const b = await Engine.open(file);
  try {
    const bump = (db: Engine) =>
      db.updateDocument('group:g', (current) => {
        const n = typeof current === 'object' && current !== null && 'n' in current && typeof current.n === 'number' ? current.n : 0;
        return { value: { n: n + 1 }, result: n + 1 };
      });
    const results = await Promise.all([bump(a), bump(b), bump(a), bump(b)]);
    assert.deepEqual([...results].sort(), [1, 2, 3, 4], 'every update saw the previous one');
    assert.deepEqual(b.readDocument('group:g'), { n: 4 });
    assert.deepEqual(a.listDocuments('group:'), ['group:g']);
    await a.updateDocument('group:h', () => ({ value: [1, 'x'], result: undefined }));
    await b.updateDocument('group:g', () => ({ value: undefined, result: undefined }));
    assert.deepEqual(a.listDocuments('group:'), ['group:h']);
  } finally {
    await a.close();
    await b.close();
  }
  const c = await Engine.open(file);
  try {
    assert.deepEqual(c.readDocument('group:h'), [1, 'x']);
    assert.equal(c.readDocument('group:g'), undefined);
  } finally {
    await c.close();
  }
});

test('deleteRecords advances logStartOffset, frees extents below it, and is kept across reopen', async () => {
  const file = tempFile();
  let db = await Engine.open(file, { extentSize: 64 * 1024 });
  await db.createTopic('t', { configs: { 'retention.ms': '-1' } });
  for (let i = 0; i < 60; i++) await db.append('t', 0, [{ key: null, value: Buffer.alloc(5000, i), timestamp: 1000 + i }]);
  const before = db.stats();
  assert.equal(await db.deleteRecords('t', 0, 40), 40);
  assert.equal(db.logStartOffset('t', 0), 40);
  await rejectsWith(() => db.read('t', 0, 39), 'OFFSET_OUT_OF_RANGE');
  assert.equal(readAll(db, 't', 0, 40)[0]!.offset, 40);
  assert.deepEqual(db.offsetForTimestamp('t', 0, 0), { offset: 40, timestamp: 1040 });
  await rejectsWith(db.deleteRecords('t', 0, 61), 'OFFSET_OUT_OF_RANGE');
  assert.equal(await db.deleteRecords('t', 0, 10), 40, 'never moves backwards');
  await db.close();
  db = await Engine.open(file);
  try {
    assert.equal(db.logStartOffset('t', 0), 40);
    assert.ok(db.stats().freeExtents > before.freeExtents, 'extents below logStartOffset were freed');
    assert.equal(await db.deleteRecords('t', 0, -1), 60);
    assert.equal(db.read('t', 0, 60).records.length, 0);
  } finally {
    await db.close();
  }
});

test('commitOffsetsIf commits only when the check on the document passes, atomically', async () => {
  const db = await Engine.open(tempFile());
  try {
    await db.createTopic('t');
    await db.updateDocument('group:g', () => ({ value: { generation: 2 }, result: undefined }));
    const fenced = (generation: number) => (doc: unknown) =>
      typeof doc === 'object' && doc !== null && 'generation' in doc && doc.generation === generation
        ? null
        : new OnelogError('ILLEGAL_GENERATION', `generation ${generation} is not current`);
    await db.commitOffsetsIf('g', [{ topic: 't', partition: 0, offset: 3 }], 'group:g', fenced(2));
    await rejectsWith(db.commitOffsetsIf('g', [{ topic: 't', partition: 0, offset: 9 }], 'group:g', fenced(1)), 'ILLEGAL_GENERATION');
    assert.deepEqual(db.fetchOffsets('g').map((o) => o.offset), [3]);
  } finally {
    await db.close();
  }
});

test('a commit check is given the stored document frozen: changing it throws and changes nothing, here or in the file', async () => {
  const file = tempFile();
  let db = await Engine.open(file);
  try {
    await db.createTopic('t');
    const value = { generation: 2, members: [{ id: 'm' }] };
    await db.updateDocument('group:g', () => ({ value, result: undefined }));
    value.generation = 7; // the caller's object was copied when stored
    const tamper = (doc: unknown): null => {
      (doc as { members: { id: string }[] }).members[0]!.id = 'x';
      return null;
    };
    await assert.rejects(db.commitOffsetsIf('g', [{ topic: 't', partition: 0, offset: 3 }], 'group:g', tamper), TypeError);
    assert.deepEqual(db.readDocument('group:g'), { generation: 2, members: [{ id: 'm' }] });
    assert.deepEqual(db.fetchOffsets('g'), []);
  } finally {
    await db.close();
  }
  // Documents loaded from the file are frozen as well.
  db = await Engine.open(file);
  try {
    const tamper = (doc: unknown): null => {
      (doc as { generation: number }).generation = 9;
      return null;
    };
    await assert.rejects(db.commitOffsetsIf('g', [{ topic: 't', partition: 0, offset: 3 }], 'group:g', tamper), TypeError);
    assert.deepEqual(db.readDocument('group:g'), { generation: 2, members: [{ id: 'm' }] });
  } finally {
    await db.close();
  }
});
