// Behaviour of the kafkajs-shaped producer on a real file: RecordMetadata results, message conversion
// (keys, values, headers, timestamps), partition choice, one batch per partition per send, acks,
// compression, auto-creation, batch splitting, idempotent sequences and retries, and typed errors.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { open, type Database } from '../../src/client/database.ts';
import { toKafkaMessage } from '../../src/client/messages.ts';
import { partitionForKey } from '../../src/client/partitioner.ts';
import { Producer } from '../../src/client/producer.ts';
import { CompressionTypes, type KafkaMessage } from '../../src/client/types.ts';
import { OnelogError } from '../../src/errors.ts';
import { batchTotalSize, decodeRecords, encodeBatch, readBatchHeader, type BatchHeader } from '../../src/format/record-batch.ts';
import type { Engine } from '../../src/storage/engine.ts';
import { rejectsWith } from '../helpers/rejects-with.ts';

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-producer-')), 'db.onelog');
}

async function withDb(work: (db: Database) => Promise<void>, options: Parameters<typeof open>[1] = {}): Promise<void> {
  const db = await open(tempFile(), options);
  try {
    await work(db);
  } finally {
    await db.close();
  }
}

interface StoredBatch {
  header: BatchHeader;
  messages: KafkaMessage[];
}

function readAll(engine: Engine, topic: string, partition: number): StoredBatch[] {
  const out: StoredBatch[] = [];
  let offset = engine.logStartOffset(topic, partition);
  while (offset < engine.highWatermark(topic, partition)) {
    const res = engine.read(topic, partition, offset);
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      const header = readBatchHeader(res.records, pos);
      out.push({ header, messages: decodeRecords(res.records, pos).map((r) => toKafkaMessage(r, header)) });
    }
    offset = res.nextOffset;
  }
  return out;
}

function messagesOf(engine: Engine, topic: string, partition: number): KafkaMessage[] {
  return readAll(engine, topic, partition).flatMap((b) => b.messages);
}

test('send returns one RecordMetadata per partition and stores keys, values, headers and timestamps as sent', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] });
    const producer = db.producer();
    const events: string[] = [];
    const off = producer.on(producer.events.CONNECT, (e) => events.push(e.type));
    producer.on(producer.events.DISCONNECT, (e) => events.push(e.type));
    await producer.connect();
    off();
    await producer.connect();
    assert.throws(() => producer.on('producer.network.request' as typeof producer.events.CONNECT, () => undefined), (err: unknown) => err instanceof OnelogError && err.code === 'INVALID_ARGUMENT');
    const result = await producer.send({
      topic: 'orders',
      messages: [
        { key: 'k1', value: 'hello', headers: { source: 'web', trace: Buffer.from([1, 2]), multi: ['a', Buffer.from('b')] }, timestamp: '1700000000123' },
        { key: Buffer.from([0xff, 0x00]), value: Buffer.from('bytes'), timestamp: '1700000000124' },
        { value: null, timestamp: '1700000000125' },
        { key: null, value: '', headers: { gone: undefined, twice: ['x', 'y'] } },
      ],
    });
    assert.deepEqual(result, [{ topicName: 'orders', partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' }]);
    const batches = readAll(db.engine, 'orders', 0);
    assert.equal(batches.length, 1, 'one send to one partition is one batch');
    const [a, b, c, d] = batches[0]!.messages;
    assert.equal(a!.key!.toString(), 'k1');
    assert.equal(a!.value!.toString(), 'hello');
    assert.equal(a!.offset, '0');
    assert.equal(a!.timestamp, '1700000000123');
    assert.deepEqual(a!.headers, { source: Buffer.from('web'), trace: Buffer.from([1, 2]), multi: [Buffer.from('a'), Buffer.from('b')] });
    assert.deepEqual(b!.key, Buffer.from([0xff, 0x00]));
    assert.equal(b!.offset, '1');
    assert.equal(c!.key, null);
    assert.equal(c!.value, null);
    assert.deepEqual(c!.headers, {});
    assert.equal(d!.value!.length, 0);
    assert.deepEqual(d!.headers, { gone: undefined, twice: [Buffer.from('x'), Buffer.from('y')] });
    assert.ok('gone' in d!.headers, 'a header sent without a value is present, its value undefined');
    assert.ok(Math.abs(Number(d!.timestamp) - Date.now()) < 60_000, 'a message without timestamp gets the current time');
    const second = await producer.send({ topic: 'orders', messages: [{ value: 'x', timestamp: 1_700_000_000_999 }] });
    assert.equal(second[0]!.baseOffset, '4');
    assert.equal(messagesOf(db.engine, 'orders', 0)[4]!.timestamp, '1700000000999');
    await producer.disconnect();
    assert.deepEqual(events, ['producer.connect', 'producer.disconnect']);
  });
});

test('keyed messages go to the partition of Kafka\'s default partitioner; explicit partitions win; one batch per partition', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'users', numPartitions: 7 }] });
    const keys = ['user-1', 'user-2', 'user-42', 'order:1001', 'ключ', '🔥🚀', ''];
    const producer = db.producer();
    const result = await producer.send({ topic: 'users', messages: [...keys.map((key) => ({ key, value: key })), { key: 'user-1', value: 'pinned', partition: 6 }] });
    const expected = new Map<number, string[]>();
    for (const key of keys) {
      const p = partitionForKey(key, 7);
      expected.set(p, [...(expected.get(p) ?? []), key]);
    }
    expected.set(6, [...(expected.get(6) ?? []), 'pinned']);
    assert.deepEqual(
      result.map((r) => r.partition),
      [...expected.keys()].sort((x, y) => x - y),
      'results are per partition written, in partition order',
    );
    for (let p = 0; p < 7; p++) {
      const batches = readAll(db.engine, 'users', p);
      assert.equal(batches.length, expected.has(p) ? 1 : 0, `partition ${p} batches`);
      assert.deepEqual(
        batches.flatMap((b) => b.messages.map((m) => m.value!.toString())),
        expected.get(p) ?? [],
        `partition ${p} contents`,
      );
    }
    assert.equal(partitionForKey('user-1', 7), 3, 'from the fixed table');
    assert.equal(messagesOf(db.engine, 'users', 3)[0]!.value!.toString(), 'user-1');
  });
});

test('unkeyed messages are spread round-robin over the partitions', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'spread', numPartitions: 4 }] });
    const producer = db.producer();
    await producer.send({ topic: 'spread', messages: Array.from({ length: 40 }, (_, i) => ({ value: String(i) })) });
    for (let p = 0; p < 4; p++) assert.equal(db.engine.highWatermark('spread', p), 10, `partition ${p}`);
  });
});

test('a custom partitioner decides, and an out-of-range answer writes nothing', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'custom', numPartitions: 3 }] });
    const seen: number[] = [];
    const producer = db.producer({
      createPartitioner: () => ({ partitionMetadata, message }) => {
        seen.push(partitionMetadata.length);
        return message.value === 'last' ? 2 : 1;
      },
    });
    await producer.send({ topic: 'custom', messages: [{ value: 'a' }, { value: 'last' }] });
    assert.deepEqual(seen, [3, 3]);
    assert.equal(db.engine.highWatermark('custom', 1), 1);
    assert.equal(db.engine.highWatermark('custom', 2), 1);
    const bad = db.producer({ createPartitioner: () => () => 3 });
    const err = await rejectsWith(bad.send({ topic: 'custom', messages: [{ value: 'x' }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(err.partition, 3);
    await rejectsWith(db.producer().send({ topic: 'custom', messages: [{ value: 'ok' }, { value: 'x', partition: -1 }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(db.engine.highWatermark('custom', 0) + db.engine.highWatermark('custom', 1) + db.engine.highWatermark('custom', 2), 2, 'nothing of the failed sends was written');
  });
});

test('sendBatch writes several topics in one call and merges repeated topics', async () => {
  await withDb(async (db) => {
    const producer = db.producer();
    const result = await producer.sendBatch({
      topicMessages: [
        { topic: 'a', messages: [{ value: '1' }] },
        { topic: 'b', messages: [{ value: '2' }, { value: '3' }] },
        { topic: 'a', messages: [{ value: '4' }] },
      ],
    });
    assert.deepEqual(
      result.map((r) => [r.topicName, r.partition, r.baseOffset]),
      [
        ['a', 0, '0'],
        ['b', 0, '0'],
      ],
    );
    const batchesOfA = readAll(db.engine, 'a', 0);
    assert.equal(batchesOfA.length, 1, 'the two entries for topic a are one batch');
    assert.deepEqual(
      batchesOfA[0]!.messages.map((m) => m.value!.toString()),
      ['1', '4'],
    );
    assert.deepEqual(await producer.sendBatch({}), []);
  });
});

test('missing topics are auto-created with the database\'s numPartitions, unless auto-creation is off', async () => {
  await withDb(
    async (db) => {
      await Promise.all([db.producer().send({ topic: 'auto', messages: [{ value: 'a' }] }), db.producer().send({ topic: 'auto', messages: [{ value: 'b' }] })]);
      assert.equal(db.engine.describeTopic('auto')?.partitions, 3);
      const strict = db.producer({ allowAutoTopicCreation: false });
      await rejectsWith(strict.send({ topic: 'absent', messages: [{ value: 'a' }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
      assert.equal(db.engine.describeTopic('absent'), undefined);
      await rejectsWith(db.producer().send({ topic: 'bad name!', messages: [{ value: 'a' }] }), 'INVALID_TOPIC_NAME');
    },
    { numPartitions: 3 },
  );
});

test('invalid sends are refused with typed errors before anything is written', async () => {
  await withDb(async (db) => {
    const producer = db.producer();
    await rejectsWith(producer.send({ topic: '', messages: [{ value: 'a' }] }), 'INVALID_TOPIC_NAME');
    await rejectsWith(producer.send(JSON.parse('{"topic":"t","messages":[{"key":"k"}]}') as Parameters<Producer['send']>[0]), 'INVALID_ARGUMENT');
    await rejectsWith(producer.send(JSON.parse('{"topic":"t"}') as Parameters<Producer['send']>[0]), 'INVALID_ARGUMENT');
    await rejectsWith(producer.send({ topic: 't', messages: [{ value: 'a', timestamp: 'yesterday' }] }), 'INVALID_ARGUMENT');
    await rejectsWith(producer.send({ topic: 't', messages: [{ value: 'a', timestamp: -5 }] }), 'INVALID_ARGUMENT');
    await rejectsWith(producer.send({ topic: 't', messages: [{ value: 'a' }], acks: 2 }), 'INVALID_ARGUMENT');
    await rejectsWith(producer.send({ topic: 't', messages: [{ value: 'a' }], compression: 7 as CompressionTypes }), 'UNSUPPORTED_COMPRESSION');
    assert.equal(db.engine.highWatermark('t', 0), 0);
  });
});

test('compression follows CompressionTypes and the batch reads back whole', async () => {
  await withDb(async (db) => {
    const producer = db.producer();
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'compressible '.repeat(20) }));
    const codecs = [
      [CompressionTypes.None, 'none'],
      [CompressionTypes.GZIP, 'gzip'],
      [CompressionTypes.Snappy, 'snappy'],
      [CompressionTypes.LZ4, 'lz4'],
      [CompressionTypes.ZSTD, 'zstd'],
    ] as const;
    for (const [type, name] of codecs) {
      const topic = `c-${name}`;
      await producer.send({ topic, messages, compression: type });
      const batches = readAll(db.engine, topic, 0);
      assert.equal(batches.length, 1);
      assert.equal(batches[0]!.header.compression, name);
      assert.equal(batches[0]!.messages.length, 50);
      assert.equal(batches[0]!.messages[49]!.key!.toString(), 'k49');
    }
  });
});

test('a send larger than max.message.bytes is split into batches; a single oversized record is RECORD_TOO_LARGE', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'small', configEntries: [{ name: 'max.message.bytes', value: '2000' }] }] });
    const producer = db.producer();
    const result = await producer.send({ topic: 'small', messages: Array.from({ length: 60 }, (_, i) => ({ value: `${String(i).padStart(3, '0')}${'x'.repeat(97)}` })) });
    assert.equal(result.length, 1);
    assert.equal(result[0]!.baseOffset, '0');
    const batches = readAll(db.engine, 'small', 0);
    assert.ok(batches.length >= 4, `split into ${batches.length} batches`);
    for (const b of batches) assert.ok(b.header.batchLength + 12 <= 2000);
    assert.deepEqual(
      batches.flatMap((b) => b.messages.map((m) => Number(m.value!.subarray(0, 3).toString()))),
      Array.from({ length: 60 }, (_, i) => i),
    );
    await rejectsWith(producer.send({ topic: 'small', messages: [{ value: Buffer.alloc(3000) }] }), 'RECORD_TOO_LARGE');
    assert.equal(db.engine.highWatermark('small', 0), 60);
  });
});

test('acks 0 resolves with no metadata; disconnect waits for the records and reports a failure', async () => {
  await withDb(async (db) => {
    const producer = db.producer();
    assert.deepEqual(await producer.send({ topic: 'fire', messages: [{ value: 'a' }, { value: 'b' }], acks: 0 }), []);
    await producer.disconnect();
    assert.equal(db.engine.highWatermark('fire', 0), 2);
    await db.admin().createTopics({ topics: [{ topic: 'tiny', configEntries: [{ name: 'max.message.bytes', value: '200' }] }] });
    assert.deepEqual(await producer.send({ topic: 'tiny', messages: [{ value: Buffer.alloc(500) }], acks: 0 }), []);
    await rejectsWith(producer.disconnect(), 'RECORD_TOO_LARGE');
    await producer.disconnect();
    await producer.send({ topic: 'tiny', messages: [{ value: Buffer.alloc(500) }], acks: 0 });
    // The refusal settles within the same turn of the event loop; it surfaces at the next call.
    await new Promise((resolve) => setImmediate(resolve));
    await rejectsWith(producer.send({ topic: 'fire', messages: [{ value: 'c' }] }), 'RECORD_TOO_LARGE');
    await producer.send({ topic: 'fire', messages: [{ value: 'c' }], acks: 1 });
    assert.equal(db.engine.highWatermark('fire', 0), 3);
  });
});

test('concurrent sends all land, each with its own offsets', async () => {
  await withDb(async (db) => {
    const producer = db.producer();
    await producer.send({ topic: 'busy', messages: [{ value: 'first' }] });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic: 'busy', messages: [{ value: String(i) }, { value: String(i) }] })));
    const offsets = results.map((r) => Number(r[0]!.baseOffset)).sort((a, b) => a - b);
    assert.deepEqual(
      offsets,
      Array.from({ length: 50 }, (_, i) => 1 + 2 * i),
    );
    assert.equal(db.engine.highWatermark('busy', 0), 101);
  });
});

test('an idempotent producer stamps each batch with its producerId and consecutive sequences per partition', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'idem', numPartitions: 2 }] });
    const producer = db.producer({ idempotent: true });
    assert.equal(producer.isIdempotent(), true);
    await producer.connect();
    await producer.send({ topic: 'idem', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }] });
    await Promise.all([producer.send({ topic: 'idem', messages: [{ value: 'd', partition: 0 }] }), producer.send({ topic: 'idem', messages: [{ value: 'e', partition: 0 }, { value: 'f', partition: 1 }] })]);
    const p0 = readAll(db.engine, 'idem', 0).map((b) => b.header);
    const p1 = readAll(db.engine, 'idem', 1).map((b) => b.header);
    const producerId = p0[0]!.producerId;
    assert.ok(producerId >= 0);
    assert.deepEqual(
      p0.map((h) => [h.producerId, h.producerEpoch, h.baseSequence]),
      [
        [producerId, 0, 0],
        [producerId, 0, 2],
        [producerId, 0, 3],
      ],
    );
    assert.deepEqual(
      p1.map((h) => [h.producerId, h.baseSequence]),
      [
        [producerId, 0],
        [producerId, 1],
      ],
    );
    await rejectsWith(producer.send({ topic: 'idem', messages: [{ value: 'x' }], acks: 1 }), 'INVALID_ARGUMENT');
    const plain = db.producer();
    await plain.send({ topic: 'idem', messages: [{ value: 'p', partition: 1 }] });
    assert.equal(readAll(db.engine, 'idem', 1)[2]!.header.producerId, -1, 'a plain producer writes no producerId');
  });
});

test('after a batch fails for good, an idempotent producer continues under a new producerId', async () => {
  await withDb(async (db) => {
    await db.admin().createTopics({ topics: [{ topic: 'gap', configEntries: [{ name: 'max.message.bytes', value: '500' }] }] });
    const producer = db.producer({ idempotent: true });
    await producer.send({ topic: 'gap', messages: [{ value: 'a' }] });
    await rejectsWith(producer.send({ topic: 'gap', messages: [{ value: Buffer.alloc(1000) }] }), 'RECORD_TOO_LARGE');
    await producer.send({ topic: 'gap', messages: [{ value: 'b' }] });
    await producer.send({ topic: 'gap', messages: [{ value: 'c' }] });
    const headers = readAll(db.engine, 'gap', 0).map((b) => b.header);
    assert.equal(headers.length, 3);
    assert.notEqual(headers[1]!.producerId, headers[0]!.producerId);
    assert.deepEqual(
      headers.map((h) => h.baseSequence),
      [0, 0, 1],
    );
  });
});

/** An engine whose first `failures` appends are written but then reported as BUSY (a lost acknowledgement). */
function losingAcks(engine: Engine, failures: number): Engine {
  let left = failures;
  return new Proxy(engine, {
    get(target, property) {
      if (property === 'append') {
        return async (...args: Parameters<Engine['append']>) => {
          const result = await target.append(...args);
          if (left-- > 0) throw new OnelogError('BUSY', 'simulated lost acknowledgement');
          return result;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test('a retried idempotent batch is written once and acknowledged with its original offsets; a plain one twice', async () => {
  await withDb(async (db) => {
    const retry = { initialRetryTime: 1, retries: 3 };
    const idempotent = new Producer(losingAcks(db.engine, 1), { idempotent: true, retry });
    await idempotent.send({ topic: 'once', messages: [{ value: 'warm-up' }] });
    assert.equal(db.engine.highWatermark('once', 0), 1, 'the warm-up was written once despite its lost acknowledgement');
    const result = await idempotent.send({ topic: 'once', messages: [{ value: 'x' }, { value: 'y' }] });
    assert.equal(result[0]!.baseOffset, '1');
    assert.equal(db.engine.highWatermark('once', 0), 3);

    const plain = new Producer(losingAcks(db.engine, 1), { retry });
    await plain.send({ topic: 'twice', messages: [{ value: 'x' }] });
    assert.equal(db.engine.highWatermark('twice', 0), 2, 'without idempotence the retry writes the record again');

    const giveUp = new Producer(losingAcks(db.engine, 10), { retry: { initialRetryTime: 1, retries: 2 } });
    await rejectsWith(giveUp.send({ topic: 'thrice', messages: [{ value: 'x' }] }), 'BUSY');
    assert.equal(db.engine.highWatermark('thrice', 0), 3, 'one write per attempt: the first and two retries');
  });
});

test('Database.close disconnects its producers first; no new clients after close', async () => {
  const db = await open(tempFile());
  const producer = db.producer();
  await producer.send({ topic: 'last', messages: [{ value: 'a' }], acks: 0 });
  await db.close();
  const reopened = await open(db.engine.path);
  try {
    assert.equal(reopened.engine.highWatermark('last', 0), 1, 'the acks=0 record was written before the file closed');
  } finally {
    await reopened.close();
  }
  assert.throws(() => db.producer(), (err: unknown) => err instanceof OnelogError && err.code === 'CLOSED');
  assert.throws(() => db.admin(), (err: unknown) => err instanceof OnelogError && err.code === 'CLOSED');
  assert.throws(() => db.consumer({ groupId: 'g' }), (err: unknown) => err instanceof OnelogError && err.code === 'CLOSED');
  await rejectsWith(producer.send({ topic: 'last', messages: [{ value: 'b' }] }), 'CLOSED');
  await db.close();
});

test('Database.close stops a running consumer before closing the file', async () => {
  const db = await open(tempFile());
  await db.producer().send({ topic: 'feed', messages: [{ value: 'a' }] });
  const consumer = db.consumer({ groupId: 'readers' });
  await consumer.subscribe({ topics: ['feed'], fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: ({ message }) => {
          seen.push(message.value!.toString());
          resolve();
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  await db.close();
  assert.deepEqual(seen, ['a']);
  const reopened = await open(db.engine.path);
  try {
    assert.deepEqual(
      reopened.engine.fetchOffsets('readers').map((o) => o.offset),
      [1],
      'the consumer committed on its way out',
    );
    assert.equal((await reopened.admin().describeGroups(['readers'])).groups[0]!.members.length, 0, 'and left the group');
  } finally {
    await reopened.close();
  }
});

test('open refuses a bad numPartitions before creating the file', async () => {
  const file = tempFile();
  await rejectsWith(open(file, { numPartitions: 0 }), 'INVALID_ARGUMENT');
  assert.equal(fs.existsSync(file), false);
});

test('toKafkaMessage: null header values are undefined and left out of repeated keys; LogAppendTime batches carry their time', () => {
  const batch = encodeBatch({
    baseOffset: 40,
    timestampType: 'log-append',
    records: [
      {
        key: null,
        value: Buffer.from('v'),
        timestamp: 5,
        headers: [
          { key: 'a', value: null },
          { key: 'b', value: Buffer.from('1') },
          { key: 'b', value: null },
          { key: 'b', value: Buffer.from('2') },
          { key: 'c', value: null },
          { key: 'c', value: Buffer.from('3') },
        ],
      },
    ],
  });
  const header = { ...readBatchHeader(batch, 0), maxTimestamp: 1_700_000_000_000 };
  const message = toKafkaMessage(decodeRecords(batch, 0)[0]!, header);
  assert.deepEqual(message.headers, { a: undefined, b: [Buffer.from('1'), Buffer.from('2')], c: Buffer.from('3') });
  assert.equal(message.offset, '40');
  assert.equal(message.timestamp, '1700000000000');
  assert.equal(message.attributes, 0);
});
