// Metadata through the wire at old and new versions: the broker list, cluster and controller ids, topics
// with ids and single-node partitions, "all topics" versus "no topics" per version, auto-creation on and
// off (server-wide and per request), invalid names, lookups by topic id (v12) and authorized operations.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ZERO_UUID } from '../../src/protocol/codec.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeMetadataResponse, encodeMetadataRequest, type MetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

let served: ServedDatabase;
let raw: RawClient;

before(async () => {
  served = await startServer({ open: { numPartitions: 3 } });
  await served.db.engine.createTopic('orders', { partitions: 2 });
  await served.db.engine.createTopic('payments', { partitions: 1 });
  raw = await connectRaw(served.broker);
});
after(async () => {
  raw.close();
  await served.close();
});

function metadata(version: number, request: Partial<MetadataRequest>, client = raw): Promise<MetadataResponse> {
  const full: MetadataRequest = { topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false, ...request };
  return client.request(API_KEYS.METADATA, version, encodeMetadataRequest, full, decodeMetadataResponse);
}

function named(names: readonly string[]): MetadataRequest['topics'] {
  return names.map((name) => ({ topicId: ZERO_UUID, name }));
}

test('v0: an empty topic list means every topic; brokers name node 0 at the advertised address', async () => {
  const response = await metadata(0, { topics: [] });
  assert.deepEqual(response.brokers, [{ nodeId: 0, host: '127.0.0.1', port: served.server.port, rack: null }]);
  assert.deepEqual(
    response.topics.map((t) => [t.name, t.partitions.length]),
    [
      ['orders', 2],
      ['payments', 1],
    ],
  );
});

test('v1+: null means every topic and an empty list none', async () => {
  for (const version of [1, 4, 9, 12]) {
    const all = await metadata(version, { topics: null });
    assert.deepEqual(all.topics.map((t) => t.name).sort(), ['orders', 'payments'], `v${version}`);
    const none = await metadata(version, { topics: [] });
    assert.deepEqual(none.topics, [], `v${version}`);
  }
});

test('v12: cluster id, controller, topic ids and single-node partitions', async () => {
  const response = await metadata(12, { topics: named(['orders']) });
  assert.equal(response.clusterId, served.db.engine.stats().databaseId);
  assert.equal(response.controllerId, 0);
  const [topic] = response.topics;
  assert.ok(topic !== undefined);
  assert.equal(topic.errorCode, ERROR_CODES.NONE);
  assert.equal(topic.topicId, served.db.engine.describeTopic('orders')!.topicId);
  assert.equal(topic.isInternal, false);
  assert.equal(topic.topicAuthorizedOperations, -2147483648);
  assert.deepEqual(
    topic.partitions,
    [0, 1].map((partitionIndex) => ({ errorCode: 0, partitionIndex, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] })),
  );
});

test('authorized operations are all allowed when asked for (v8-v10 cluster, v8+ topics)', async () => {
  const asked = await metadata(8, { topics: named(['orders']), includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
  // Topic: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
  assert.equal(asked.topics[0]!.topicAuthorizedOperations, 0b1101_1111_1000);
  // Cluster: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
  assert.equal(asked.clusterAuthorizedOperations, 0b1_1111_1010_0000);
  const omitted = await metadata(10, { topics: named(['orders']) });
  assert.equal(omitted.clusterAuthorizedOperations, -2147483648);
  assert.equal(omitted.topics[0]!.topicAuthorizedOperations, -2147483648);
});

test('unknown topics are auto-created with numPartitions at v0 and when v4+ allows it', async () => {
  const v0 = await metadata(0, { topics: named(['auto-v0']) });
  assert.equal(v0.topics[0]!.errorCode, ERROR_CODES.NONE);
  assert.equal(v0.topics[0]!.partitions.length, 3);
  const v12 = await metadata(12, { topics: named(['auto-v12', 'auto-v12']), allowAutoTopicCreation: true });
  assert.equal(v12.topics.length, 1);
  assert.equal(v12.topics[0]!.errorCode, ERROR_CODES.NONE);
  assert.equal(v12.topics[0]!.topicId, served.db.engine.describeTopic('auto-v12')!.topicId);
  assert.equal(served.db.engine.describeTopic('auto-v0')!.partitions, 3);
});

test('v4+ with allowAutoTopicCreation false: UNKNOWN_TOPIC_OR_PARTITION, nothing created', async () => {
  const response = await metadata(4, { topics: named(['not-created']), allowAutoTopicCreation: false });
  assert.equal(response.topics[0]!.errorCode, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(served.db.engine.describeTopic('not-created'), undefined);
});

test('invalid topic names get INVALID_TOPIC_EXCEPTION whether or not auto-creation is on', async () => {
  for (const allowAutoTopicCreation of [true, false]) {
    const response = await metadata(9, { topics: named(['bad name!', '..']), allowAutoTopicCreation });
    assert.deepEqual(
      response.topics.map((t) => t.errorCode),
      [ERROR_CODES.INVALID_TOPIC_EXCEPTION, ERROR_CODES.INVALID_TOPIC_EXCEPTION],
    );
  }
});

test('a server with auto-creation off answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const off = await startServer({ serve: { autoCreateTopics: false } });
  const client = await connectRaw(off.broker);
  try {
    const response = await metadata(1, { topics: named(['nope']) }, client);
    assert.equal(response.topics[0]!.errorCode, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(off.db.engine.describeTopic('nope'), undefined);
  } finally {
    client.close();
    await off.close();
  }
});

test('v12 looks topics up by id; unknown ids get UNKNOWN_TOPIC_ID; v10-v11 must not use ids', async () => {
  const id = served.db.engine.describeTopic('payments')!.topicId;
  const unknownId = '0f0f0f0f-0000-4000-8000-000000000001';
  const response = await metadata(12, {
    topics: [
      { topicId: id, name: null },
      { topicId: unknownId, name: null },
    ],
  });
  assert.equal(response.topics[0]!.name, 'payments');
  assert.equal(response.topics[0]!.partitions.length, 1);
  assert.deepEqual([response.topics[1]!.errorCode, response.topics[1]!.name, response.topics[1]!.topicId], [ERROR_CODES.UNKNOWN_TOPIC_ID, null, unknownId]);
  const v10 = await metadata(10, { topics: [{ topicId: id, name: null }] });
  assert.equal(v10.topics[0]!.errorCode, ERROR_CODES.INVALID_REQUEST);
});

test('kafkajs reads topic metadata through admin.fetchTopicMetadata', async () => {
  const kafka = new Kafka({ clientId: 'metadata-test', brokers: [served.broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] });
    assert.equal(topics.length, 1);
    assert.deepEqual(
      topics[0]!.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]),
      [
        [0, 0, [0], [0]],
        [1, 0, [0], [0]],
      ],
    );
  } finally {
    await admin.disconnect();
  }
});
