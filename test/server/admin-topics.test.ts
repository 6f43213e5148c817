// Tests of the topic admin APIs over the wire at their oldest and newest versions, with onelog's own
// codec as the client: CreateTopics, DeleteTopics, CreatePartitions and DeleteRecords, including the
// per-topic and per-partition error codes bad requests get, after which the server keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ZERO_UUID } from '../../src/protocol/codec.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeCreatePartitionsResponse, encodeCreatePartitionsRequest, type CreatePartitionsRequest } from '../../src/protocol/generated/create-partitions.ts';
import { decodeCreateTopicsResponse, encodeCreateTopicsRequest, type CreateTopicsRequest, type CreateTopicsRequestCreatableTopic } from '../../src/protocol/generated/create-topics.ts';
import { decodeDeleteRecordsResponse, encodeDeleteRecordsRequest, type DeleteRecordsRequest } from '../../src/protocol/generated/delete-records.ts';
import { decodeDeleteTopicsResponse, encodeDeleteTopicsRequest, type DeleteTopicsRequest } from '../../src/protocol/generated/delete-topics.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

let served: ServedDatabase;
let raw: RawClient;

before(async () => {
  served = await startServer({ open: { numPartitions: 2 } });
  raw = await connectRaw(served.broker);
});

after(async () => {
  raw.close();
  await served.close();
});

function topic(name: string, fields: Partial<CreateTopicsRequestCreatableTopic> = {}): CreateTopicsRequestCreatableTopic {
  return { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [], ...fields };
}

function createTopics(version: number, topics: CreateTopicsRequestCreatableTopic[], validateOnly = false) {
  const request: CreateTopicsRequest = { topics, timeoutMs: 5000, validateOnly };
  return raw.request(API_KEYS.CREATE_TOPICS, version, encodeCreateTopicsRequest, request, decodeCreateTopicsResponse);
}

function deleteTopics(version: number, request: Partial<DeleteTopicsRequest>) {
  return raw.request(API_KEYS.DELETE_TOPICS, version, encodeDeleteTopicsRequest, { topics: [], topicNames: [], timeoutMs: 5000, ...request }, decodeDeleteTopicsResponse);
}

function createPartitions(version: number, topics: CreatePartitionsRequest['topics'], validateOnly = false) {
  return raw.request(API_KEYS.CREATE_PARTITIONS, version, encodeCreatePartitionsRequest, { topics, timeoutMs: 5000, validateOnly }, decodeCreatePartitionsResponse);
}

function deleteRecords(version: number, topics: DeleteRecordsRequest['topics']) {
  return raw.request(API_KEYS.DELETE_RECORDS, version, encodeDeleteRecordsRequest, { topics, timeoutMs: 5000 }, decodeDeleteRecordsResponse);
}

test('CreateTopics v0 creates topics, with the server default for numPartitions -1', async () => {
  const res = await createTopics(0, [topic('ct0-a', { numPartitions: 3, replicationFactor: 1 }), topic('ct0-b')]);
  assert.deepEqual(res.topics.map((t) => [t.name, t.errorCode]), [['ct0-a', 0], ['ct0-b', 0]]);
  assert.equal(served.db.engine.describeTopic('ct0-a')?.partitions, 3);
  assert.equal(served.db.engine.describeTopic('ct0-b')?.partitions, 2);
});

test('CreateTopics v7 answers topic id, partition count, replication factor and configs', async () => {
  const res = await createTopics(7, [topic('ct7', { numPartitions: 4, configs: [{ name: 'retention.ms', value: '1000' }] })]);
  const [t] = res.topics;
  assert.ok(t !== undefined);
  const info = served.db.engine.describeTopic('ct7');
  assert.equal(t.errorCode, 0);
  assert.equal(t.errorMessage, null);
  assert.equal(t.topicId, info?.topicId);
  assert.equal(t.numPartitions, 4);
  assert.equal(t.replicationFactor, 1);
  assert.deepEqual(info?.configs, { 'retention.ms': '1000' });
  const retention = t.configs?.find((c) => c.name === 'retention.ms');
  assert.deepEqual(retention, { name: 'retention.ms', value: '1000', readOnly: false, configSource: 1, isSensitive: false });
  assert.equal(t.configs?.find((c) => c.name === 'cleanup.policy')?.configSource, 5);
});

test('CreateTopics validateOnly (v1 and v7) checks without creating anything', async () => {
  const v1 = await createTopics(1, [topic('vo', { numPartitions: 2 }), topic('vo-bad', { configs: [{ name: 'retention.ms', value: 'soon' }] })], true);
  assert.deepEqual(v1.topics.map((t) => [t.name, t.errorCode]), [['vo', 0], ['vo-bad', ERROR_CODES.INVALID_CONFIG]]);
  const v7 = await createTopics(7, [topic('vo', { numPartitions: 5 })], true);
  assert.equal(v7.topics[0]?.errorCode, 0);
  assert.equal(v7.topics[0].numPartitions, 5);
  assert.equal(v7.topics[0].topicId, ZERO_UUID);
  assert.equal(served.db.engine.describeTopic('vo'), undefined);
  const exists = await createTopics(1, [topic('ct0-a')], true);
  assert.equal(exists.topics[0]?.errorCode, ERROR_CODES.TOPIC_ALREADY_EXISTS);
});

test('CreateTopics answers each bad topic with its own error code and still creates the good ones', async () => {
  const res = await createTopics(5, [
    topic('ct0-a'),
    topic('bad name!'),
    topic('rf3', { replicationFactor: 3 }),
    topic('rf0', { replicationFactor: 0 }),
    topic('zero', { numPartitions: 0 }),
    topic('cfg', { configs: [{ name: 'no.such.config', value: '1' }] }),
    topic('nullcfg', { configs: [{ name: 'retention.ms', value: null }] }),
    topic('protocfg', { configs: [{ name: '__proto__', value: '1' }] }),
    topic('assigned', { assignments: [{ partitionIndex: 1, brokerIds: [0] }, { partitionIndex: 0, brokerIds: [0] }] }),
    topic('assigned-1', { assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
    topic('assigned-gap', { assignments: [{ partitionIndex: 1, brokerIds: [0] }] }),
    topic('both', { numPartitions: 1, assignments: [{ partitionIndex: 0, brokerIds: [0] }] }),
    topic('twice'),
    topic('twice'),
    topic('good'),
  ]);
  assert.deepEqual(
    res.topics.map((t) => [t.name, t.errorCode]),
    [
      ['ct0-a', ERROR_CODES.TOPIC_ALREADY_EXISTS],
      ['bad name!', ERROR_CODES.INVALID_TOPIC_EXCEPTION],
      ['rf3', ERROR_CODES.INVALID_REPLICATION_FACTOR],
      ['rf0', ERROR_CODES.INVALID_REPLICATION_FACTOR],
      ['zero', ERROR_CODES.INVALID_PARTITIONS],
      ['cfg', ERROR_CODES.INVALID_CONFIG],
      ['nullcfg', ERROR_CODES.INVALID_CONFIG],
      ['protocfg', ERROR_CODES.INVALID_CONFIG],
      ['assigned', 0],
      ['assigned-1', ERROR_CODES.INVALID_REPLICA_ASSIGNMENT],
      ['assigned-gap', ERROR_CODES.INVALID_REPLICA_ASSIGNMENT],
      ['both', ERROR_CODES.INVALID_REQUEST],
      ['twice', ERROR_CODES.INVALID_REQUEST],
      ['good', 0],
    ],
  );
  for (const t of res.topics) {
    if (t.errorCode !== 0) {
      assert.equal(typeof t.errorMessage, 'string', t.name);
      assert.equal(t.numPartitions, -1);
    }
  }
  assert.equal(served.db.engine.describeTopic('assigned')?.partitions, 2);
  assert.equal(served.db.engine.describeTopic('twice'), undefined);
  assert.equal(served.db.engine.describeTopic('rf3'), undefined);
  assert.equal((await createTopics(0, [topic('after-errors')])).topics[0]?.errorCode, 0);
});

test('DeleteTopics v0 deletes by name; an unknown name is UNKNOWN_TOPIC_OR_PARTITION', async () => {
  await createTopics(0, [topic('del0')]);
  const res = await deleteTopics(0, { topicNames: ['del0', 'never-was'] });
  assert.deepEqual(res.responses.map((r) => [r.name, r.errorCode]), [['del0', 0], ['never-was', ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION]]);
  assert.equal(served.db.engine.describeTopic('del0'), undefined);
});

test('DeleteTopics v6 deletes by name or by id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
  const created = await createTopics(7, [topic('del6-a'), topic('del6-b')]);
  const idB = created.topics[1]?.topicId ?? '';
  const unknownId = '0f0e0d0c-0b0a-4908-8706-050403020100';
  const res = await deleteTopics(6, {
    topics: [
      { name: 'del6-a', topicId: ZERO_UUID },
      { name: null, topicId: idB },
      { name: null, topicId: unknownId },
    ],
  });
  assert.deepEqual(
    res.responses.map((r) => [r.name, r.topicId, r.errorCode]),
    [
      ['del6-a', created.topics[0]?.topicId, 0],
      ['del6-b', idB, 0],
      [null, unknownId, ERROR_CODES.UNKNOWN_TOPIC_ID],
    ],
  );
  assert.equal(served.db.engine.describeTopic('del6-a'), undefined);
  assert.equal(served.db.engine.describeTopic('del6-b'), undefined);
  const twice = await deleteTopics(5, { topicNames: ['ct0-b', 'ct0-b'] });
  assert.deepEqual(twice.responses.map((r) => [r.name, r.errorCode]), [['ct0-b', ERROR_CODES.INVALID_REQUEST]]);
  assert.notEqual(served.db.engine.describeTopic('ct0-b'), undefined);
});

test('CreatePartitions v0 and v3 grow topics; not growing is INVALID_PARTITIONS; validateOnly changes nothing', async () => {
  await createTopics(0, [topic('grow', { numPartitions: 1 })]);
  const v0 = await createPartitions(0, [{ name: 'grow', count: 3, assignments: null }]);
  assert.deepEqual(v0.results, [{ name: 'grow', errorCode: 0, errorMessage: null }]);
  assert.equal(served.db.engine.describeTopic('grow')?.partitions, 3);
  const v3 = await createPartitions(3, [
    { name: 'grow', count: 2, assignments: null },
    { name: 'missing', count: 2, assignments: null },
    { name: 'ct0-a', count: 5, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] },
    { name: 'ct7', count: 5, assignments: [{ brokerIds: [2] }] },
  ]);
  assert.deepEqual(
    v3.results.map((r) => [r.name, r.errorCode]),
    [
      ['grow', ERROR_CODES.INVALID_PARTITIONS],
      ['missing', ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION],
      ['ct0-a', 0],
      ['ct7', ERROR_CODES.INVALID_REPLICA_ASSIGNMENT],
    ],
  );
  assert.equal(served.db.engine.describeTopic('ct0-a')?.partitions, 5);
  const checked = await createPartitions(3, [{ name: 'grow', count: 10, assignments: null }, { name: 'grow-not', count: 1, assignments: null }], true);
  assert.deepEqual(checked.results.map((r) => r.errorCode), [0, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal(served.db.engine.describeTopic('grow')?.partitions, 3);
});

test('DeleteRecords v0 and v2 advance the low watermark; past the highWatermark is OFFSET_OUT_OF_RANGE', async () => {
  await createTopics(0, [topic('recs', { numPartitions: 2 })]);
  const records = Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`v${String(i)}`), timestamp: Date.now() }));
  await served.db.engine.append('recs', 0, records);
  await served.db.engine.append('recs', 1, records);
  const v0 = await deleteRecords(0, [{ name: 'recs', partitions: [{ partitionIndex: 0, offset: 4n }, { partitionIndex: 1, offset: 11n }, { partitionIndex: 7, offset: 0n }] }]);
  assert.deepEqual(v0.topics[0]?.partitions, [
    { partitionIndex: 0, lowWatermark: 4n, errorCode: 0 },
    { partitionIndex: 1, lowWatermark: -1n, errorCode: ERROR_CODES.OFFSET_OUT_OF_RANGE },
    { partitionIndex: 7, lowWatermark: -1n, errorCode: ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION },
  ]);
  const v2 = await deleteRecords(2, [
    { name: 'recs', partitions: [{ partitionIndex: 1, offset: -1n }] },
    { name: 'nope', partitions: [{ partitionIndex: 0, offset: 1n }] },
  ]);
  assert.deepEqual(v2.topics.map((t) => [t.name, t.partitions]), [
    ['recs', [{ partitionIndex: 1, lowWatermark: 10n, errorCode: 0 }]],
    ['nope', [{ partitionIndex: 0, lowWatermark: -1n, errorCode: ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION }]],
  ]);
  assert.equal(served.db.engine.logStartOffset('recs', 0), 4);
  assert.equal(served.db.engine.logStartOffset('recs', 1), 10);
});
