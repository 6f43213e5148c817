// kafkajs against `onelog serve`: for each compression codec, a 3-partition topic gets 10,000 keyed
// records with headers and timestamps from a kafkajs producer, a kafkajs group consumer reads them back,
// the file holds exactly those bytes (checked through the embedded engine), offsets by timestamp agree,
// and records cross between kafkajs and the embedded client in both directions.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';
import { CompressionTypes, Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { partitionForKey } from '../../src/client/partitioner.ts';
import { compress, decompress, type CompressionType } from '../../src/format/compression.ts';
import { byKey, CODECS, interopRecord, PARTITIONS, placed, positioned, RECORDS_PER_CODEC, storedRecords, type InteropRecord } from './helpers/interop-data.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

// kafkajs ships gzip only: these codecs plug onelog's own compression in, as an application would plug
// in kafkajs-snappy or similar. (Its CompressionCodecs table is not a named export Node sees from ESM.)
const { CompressionCodecs } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
function codec(type: CompressionType): () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> } {
  return () => ({
    compress: (encoder) => Promise.resolve(compress(type, encoder.buffer)),
    decompress: (buffer) => Promise.resolve(decompress(type, buffer)),
  });
}
CompressionCodecs[CompressionTypes.Snappy] = codec('snappy');
CompressionCodecs[CompressionTypes.LZ4] = codec('lz4');
CompressionCodecs[CompressionTypes.ZSTD] = codec('zstd');

const KAFKAJS_CODEC: Readonly<Record<CompressionType, CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

let served: ServedDatabase;
let kafka: Kafka;

before(async () => {
  served = await startServer();
  kafka = new Kafka({ clientId: 'interop', brokers: [served.broker], logLevel: logLevel.NOTHING });
});
after(async () => {
  await served.close();
});

interface Received extends InteropRecord {
  readonly partition: number;
  readonly offset: number;
}

function received(partition: number, m: KafkaMessage): Received {
  return {
    partition,
    offset: Number(m.offset),
    key: m.key?.toString() ?? '',
    value: m.value?.toString() ?? '',
    headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
    timestamp: Number(m.timestamp),
  };
}

/** Reads `count` records of `topic` from the beginning with a kafkajs group consumer. */
async function consumeAll(topic: string, groupId: string, count: number): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const out: Received[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) out.push(received(batch.partition, m));
            if (out.length >= count) resolve();
            await Promise.resolve();
          },
        })
        .catch(reject);
    });
    return out;
  } finally {
    await consumer.disconnect();
  }
}

for (const type of CODECS) {
  test(`kafkajs produces and consumes 10,000 records compressed with ${type}`, { timeout: 60_000 }, async () => {
    const topic = `kafkajs-${type}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] }), true);
      const base = Date.now() - RECORDS_PER_CODEC;
      const records = Array.from({ length: RECORDS_PER_CODEC }, (_, i) => interopRecord('kafkajs', type, i, base));
      const producer = kafka.producer();
      await producer.connect();
      for (let i = 0; i < records.length; i += 1000) {
        await producer.send({
          topic,
          compression: KAFKAJS_CODEC[type],
          messages: records.slice(i, i + 1000).map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers }, timestamp: String(r.timestamp) })),
        });
      }
      await producer.disconnect();

      // The file holds every record, on the partition Kafka's default partitioner picks, in send order,
      // in batches of the codec asked for.
      const stored = storedRecords(served.db.engine, topic);
      assert.equal(stored.length, RECORDS_PER_CODEC);
      for (const s of stored) assert.equal(s.compression, type);
      const expected = records.map((r) => ({ ...r, partition: partitionForKey(r.key, PARTITIONS) }));
      assert.deepEqual(
        byKey(stored).map(placed),
        byKey(expected),
      );
      for (let p = 0; p < PARTITIONS; p++) {
        const inPartition = stored.filter((s) => s.partition === p);
        assert.deepEqual(inPartition.map((s) => s.offset), inPartition.map((_, i) => i));
        assert.deepEqual(inPartition.map((s) => s.timestamp), [...inPartition.map((s) => s.timestamp)].sort((a, b) => a - b));
      }

      // kafkajs reads back exactly what the file holds: partition, offset, key, value, headers, timestamp.
      const consumed = await consumeAll(topic, `g-${topic}`, RECORDS_PER_CODEC);
      assert.deepEqual(byKey(consumed), byKey(stored.map(positioned)));

      // Offsets by timestamp: per partition, the first record at or after the middle record's time.
      const middle = base + RECORDS_PER_CODEC / 2;
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, middle);
      for (const { partition, offset } of byTime) {
        const first = stored.find((s) => s.partition === partition && s.timestamp >= middle);
        assert.equal(Number(offset), first?.offset, `partition ${String(partition)}`);
      }
    } finally {
      await admin.disconnect();
    }
  });
}

test('records cross between kafkajs and the embedded client in both directions', { timeout: 60_000 }, async () => {
  const topic = 'crossing';
  await served.db.admin().createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = served.db.producer();
  await producer.send({ topic, messages: [{ key: 'embedded', value: 'from onelog', headers: { origin: 'embedded' }, timestamp: '1700000000000' }] });
  const fromEmbedded = await consumeAll(topic, 'g-crossing-1', 1);
  assert.deepEqual(fromEmbedded.map(placed), [
    { partition: partitionForKey('embedded', PARTITIONS), key: 'embedded', value: 'from onelog', headers: { origin: 'embedded' }, timestamp: 1700000000000 },
  ]);

  const kafkajsProducer = kafka.producer();
  await kafkajsProducer.connect();
  await kafkajsProducer.send({ topic, messages: [{ key: 'kafkajs', value: 'from kafkajs', headers: { origin: 'kafkajs' }, timestamp: '1700000000001' }] });
  await kafkajsProducer.disconnect();
  const consumer = served.db.consumer({ groupId: 'g-crossing-2' });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen: { key: string; value: string; origin: string; timestamp: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', origin: String(message.headers.origin), timestamp: message.timestamp });
          if (seen.length === 2) resolve();
          await Promise.resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  assert.deepEqual(
    seen.sort((a, b) => a.key.localeCompare(b.key)),
    [
      { key: 'embedded', value: 'from onelog', origin: 'embedded', timestamp: '1700000000000' },
      { key: 'kafkajs', value: 'from kafkajs', origin: 'kafkajs', timestamp: '1700000000001' },
    ],
  );
});
