// A small kafkajs application, written against kafkajs' own types, run unchanged on a onelog file: the
// only onelog line is how the client is created (open(file) instead of new Kafka({ brokers })). Its
// expectations are those it would have on a Kafka cluster with kafkajs' defaults.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Admin, Consumer, ConsumerConfig, EachMessagePayload, Kafka, Producer, RecordMetadata } from 'kafkajs';
import { open } from '../../src/client/database.ts';
import { partitionForKey } from '../../src/client/partitioner.ts';

/**
 * The part of kafkajs' API the application uses, in kafkajs' own types. (Consumer config is limited to
 * the options the app passes: kafkajs' partitionAssigners type is tied to its broker cluster.)
 */
interface KafkaLike {
  producer(config?: Parameters<Kafka['producer']>[0]): Pick<Producer, 'connect' | 'disconnect' | 'send' | 'sendBatch' | 'isIdempotent'>;
  consumer(config: Omit<ConsumerConfig, 'partitionAssigners'>): Pick<Consumer, 'connect' | 'disconnect' | 'subscribe' | 'run'>;
  admin(): Pick<Admin, AdminMethods>;
}

/** Every kafkajs admin method onelog provides: the type check below holds onelog's Admin to kafkajs' signatures. */
type AdminMethods =
  | 'connect'
  | 'disconnect'
  | 'listTopics'
  | 'createTopics'
  | 'deleteTopics'
  | 'createPartitions'
  | 'fetchTopicMetadata'
  | 'fetchTopicOffsets'
  | 'fetchTopicOffsetsByTimestamp'
  | 'fetchOffsets'
  | 'setOffsets'
  | 'resetOffsets'
  | 'listGroups'
  | 'describeGroups'
  | 'deleteGroups'
  | 'describeConfigs'
  | 'alterConfigs'
  | 'deleteTopicRecords';

interface Received {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: { user: string; n: number };
  contentType: string;
}

const TOPIC = 'user-events';
const USERS = ['alice', 'bob', 'carol', 'dave', 'eve'];
const PER_USER = 8;

/** The application: unchanged kafkajs code. */
async function exampleApp(kafka: KafkaLike): Promise<{ sent: RecordMetadata[]; received: Received[]; topics: string[]; committed: Awaited<ReturnType<Admin['fetchOffsets']>>; high: string[] }> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }] });
  const topics = await admin.listTopics();

  const producer = kafka.producer();
  await producer.connect();
  const sent: RecordMetadata[] = [];
  for (let n = 0; n < PER_USER / 2; n++) {
    sent.push(
      ...(await producer.send({
        topic: TOPIC,
        messages: USERS.map((user) => ({ key: user, value: JSON.stringify({ user, n }), headers: { 'content-type': 'application/json' } })),
      })),
    );
  }
  sent.push(
    ...(await producer.sendBatch({
      topicMessages: [
        {
          topic: TOPIC,
          messages: Array.from({ length: PER_USER / 2 }, (_, i) => USERS.map((user) => ({ key: user, value: JSON.stringify({ user, n: PER_USER / 2 + i }), headers: { 'content-type': 'application/json' } }))).flat(),
        },
      ],
    })),
  );
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'user-events-app' });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  const received: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async (payload: EachMessagePayload) => {
          const { topic, partition, message } = payload;
          const contentType = message.headers?.['content-type'];
          received.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? '',
            value: JSON.parse(message.value?.toString() ?? 'null') as Received['value'],
            contentType: Buffer.isBuffer(contentType) ? contentType.toString() : String(contentType),
          });
          await payload.heartbeat();
          if (received.length === USERS.length * PER_USER) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();

  const committed = await admin.fetchOffsets({ groupId: 'user-events-app', topics: [TOPIC] });
  const high = (await admin.fetchTopicOffsets(TOPIC)).map((p) => p.high);
  await admin.disconnect();
  return { sent, received, topics, committed, high };
}

test('a kafkajs application runs unchanged on a onelog file', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-kafkajs-app-')), 'app.onelog');
  const kafka = await open(file); // instead of: new Kafka({ clientId: 'app', brokers: ['localhost:9092'] })
  try {
    const { sent, received, topics, committed, high } = await exampleApp(kafka);
    assert.deepEqual(topics, [TOPIC]);

    // send/sendBatch: one RecordMetadata per partition written, kafkajs' fields.
    for (const r of sent) {
      assert.equal(r.topicName, TOPIC);
      assert.equal(r.errorCode, 0);
      assert.match(r.baseOffset ?? '', /^\d+$/);
      assert.equal(r.logAppendTime, '-1');
    }

    // Every message arrives once; a key always lands on the partition Kafka's partitioner gives it, and
    // each user's messages arrive in the order they were sent.
    assert.equal(received.length, USERS.length * PER_USER);
    for (const user of USERS) {
      const mine = received.filter((m) => m.key === user);
      assert.deepEqual(
        mine.map((m) => m.value.n),
        Array.from({ length: PER_USER }, (_, n) => n),
        `order of ${user}`,
      );
      for (const m of mine) {
        assert.equal(m.partition, partitionForKey(user, 3), `partition of ${user}`);
        assert.equal(m.topic, TOPIC);
        assert.equal(m.contentType, 'application/json');
        assert.equal(m.value.user, user);
      }
    }
    const partitionsUsed = new Set(USERS.map((u) => partitionForKey(u, 3)));
    assert.deepEqual(
      sent
        .slice(0, partitionsUsed.size)
        .map((r) => r.partition)
        .sort(),
      [...partitionsUsed].sort(),
      'the first send wrote one batch to each partition its keys hash to',
    );

    // The group committed what it consumed: the next offset to read is each partition's highWatermark.
    assert.equal(committed.length, 1);
    assert.deepEqual(
      committed[0]!.partitions.map((p) => p.offset),
      high,
    );
  } finally {
    await kafka.close();
  }
});
