// @platformatic/kafka against `onelog serve`: for each compression codec, its producer writes 10,000
// keyed records with headers and timestamps into a 3-partition topic, the file holds exactly those
// records (checked through the embedded engine), its group consumer reads them back with partitions and
// offsets as stored, and its offsets-by-timestamp query agrees with the file.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { partitionForKey } from '../../src/client/partitioner.ts';
import { byKey, CODECS, interopRecord, PARTITIONS, placed, positioned, RECORDS_PER_CODEC, storedRecords } from './helpers/interop-data.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

let served: ServedDatabase;

before(async () => {
  served = await startServer();
});
after(async () => {
  await served.close();
});

for (const type of CODECS) {
  test(`@platformatic/kafka produces and consumes 10,000 records compressed with ${type}`, { timeout: 60_000 }, async () => {
    const topic = `platformatic-${type}`;
    await served.db.admin().createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const base = Date.now() - RECORDS_PER_CODEC;
    const records = Array.from({ length: RECORDS_PER_CODEC }, (_, i) => interopRecord('platformatic', type, i, base));

    const producer = new Producer({
      clientId: 'interop',
      bootstrapBrokers: [served.broker],
      serializers: stringSerializers,
      // Java's default partitioner, so keys land as they would with Kafka's own clients.
      partitioner: (message) => partitionForKey(message.key ?? '', PARTITIONS),
    });
    try {
      for (let i = 0; i < records.length; i += 1000) {
        await producer.send({
          compression: type,
          acks: -1,
          messages: records.slice(i, i + 1000).map((r) => ({ topic, key: r.key, value: r.value, headers: new Map(Object.entries(r.headers)), timestamp: BigInt(r.timestamp) })),
        });
      }
    } finally {
      await producer.close();
    }

    const stored = storedRecords(served.db.engine, topic);
    assert.equal(stored.length, RECORDS_PER_CODEC);
    for (const s of stored) assert.equal(s.compression, type);
    assert.deepEqual(
      byKey(stored).map(placed),
      byKey(records.map((r) => ({ ...r, partition: partitionForKey(r.key, PARTITIONS) }))),
    );

    const consumer = new Consumer({
      clientId: 'interop',
      groupId: `g-${topic}`,
      bootstrapBrokers: [served.broker],
      deserializers: stringDeserializers,
      maxWaitTime: 100,
    });
    try {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
      const consumed: { partition: number; offset: number; key: string; value: string; headers: Record<string, string>; timestamp: number }[] = [];
      for await (const m of stream) {
        consumed.push({
          partition: m.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          headers: Object.fromEntries(m.headers),
          timestamp: Number(m.timestamp),
        });
        if (consumed.length === RECORDS_PER_CODEC) break;
      }
      await stream.close();
      assert.deepEqual(byKey(consumed), byKey(stored.map(positioned)));

      const middle = base + RECORDS_PER_CODEC / 2;
      const offsets = await consumer.listOffsets({ topics: [topic], timestamp: BigInt(middle) });
      const perPartition = offsets.get(topic);
      assert.ok(perPartition !== undefined);
      for (let p = 0; p < PARTITIONS; p++) {
        const first = stored.find((s) => s.partition === p && s.timestamp >= middle);
        assert.equal(Number(perPartition[p]), first?.offset, `partition ${String(p)}`);
      }
    } finally {
      await consumer.close();
    }
  });
}
