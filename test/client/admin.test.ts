// Behaviour of the kafkajs-shaped admin client on a real file: topics and partitions, metadata, offsets
// (by position and by time), group offsets and descriptions (with a live member from the coordinator),
// topic configs, deleting records, and the typed errors of each.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Admin } from '../../src/client/admin.ts';
import { open, type Database } from '../../src/client/database.ts';
import { GroupCoordinator } from '../../src/client/group-coordinator.ts';
import { ConfigResourceTypes, ConfigSource } from '../../src/client/types.ts';
import { OnelogError } from '../../src/errors.ts';
import { rejectsWith } from '../helpers/rejects-with.ts';

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-admin-')), 'db.onelog');
}

async function withAdmin(work: (admin: Admin, db: Database) => Promise<void>, options: Parameters<typeof open>[1] = {}): Promise<void> {
  const db = await open(tempFile(), options);
  try {
    const admin = db.admin();
    await admin.connect();
    await work(admin, db);
    await admin.disconnect();
  } finally {
    await db.close();
  }
}

test('createTopics: true when created, false when all already existed, validateOnly creates nothing', async () => {
  await withAdmin(
    async (admin, db) => {
      assert.equal(await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 3, replicationFactor: 3 }, { topic: 'b' }] }), true);
      assert.deepEqual(await admin.listTopics(), ['a', 'b']);
      assert.equal(db.engine.describeTopic('a')?.partitions, 3);
      assert.equal(db.engine.describeTopic('b')?.partitions, 2, 'without numPartitions: the database default');
      assert.equal(await admin.createTopics({ topics: [{ topic: 'a' }] }), false);
      assert.equal(await admin.createTopics({ topics: [{ topic: 'a' }, { topic: 'c', replicaAssignment: [0, 1, 2, 3].map((partition) => ({ partition, replicas: [0] })) }] }), false);
      assert.equal(db.engine.describeTopic('c')?.partitions, 4, 'the others were created, with one partition per replica assignment');
      assert.equal(await admin.createTopics({ topics: [{ topic: 'd', numPartitions: 2 }], validateOnly: true }), true);
      assert.equal(await admin.createTopics({ topics: [{ topic: 'a' }], validateOnly: true }), false);
      assert.equal(db.engine.describeTopic('d'), undefined);
      await rejectsWith(admin.createTopics({ topics: [{ topic: 'd', numPartitions: 0 }], validateOnly: true }), 'INVALID_PARTITIONS');
      await rejectsWith(admin.createTopics({ topics: [{ topic: 'x' }, { topic: 'x' }] }), 'INVALID_ARGUMENT');
      await rejectsWith(admin.createTopics({ topics: [{ topic: 'bad/name' }] }), 'INVALID_TOPIC_NAME');
      await rejectsWith(admin.createTopics({ topics: [{ topic: 'e', configEntries: [{ name: 'cleanup.policy', value: 'shred' }] }] }), 'INVALID_CONFIG');
      await rejectsWith(admin.createTopics(JSON.parse('{}') as Parameters<Admin['createTopics']>[0]), 'INVALID_ARGUMENT');
    },
    { numPartitions: 2 },
  );
});

test('deleteTopics and createPartitions', async () => {
  await withAdmin(async (admin, db) => {
    await admin.createTopics({ topics: [{ topic: 'keep' }, { topic: 'drop' }] });
    await admin.deleteTopics({ topics: ['drop'] });
    assert.deepEqual(await admin.listTopics(), ['keep']);
    await rejectsWith(admin.deleteTopics({ topics: ['drop'] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await admin.createPartitions({ topicPartitions: [{ topic: 'keep', count: 5 }] });
    assert.equal(db.engine.describeTopic('keep')?.partitions, 5);
    await admin.createPartitions({ topicPartitions: [{ topic: 'keep', count: 9 }], validateOnly: true });
    assert.equal(db.engine.describeTopic('keep')?.partitions, 5);
    await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'keep', count: 3 }] }), 'INVALID_PARTITIONS');
    await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'keep', count: 5 }], validateOnly: true }), 'INVALID_PARTITIONS');
    await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'nope', count: 3 }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});

test('fetchTopicMetadata reports one broker (node 0) leading every partition', async () => {
  await withAdmin(async (admin) => {
    await admin.createTopics({ topics: [{ topic: 'm', numPartitions: 2 }, { topic: 'n' }] });
    const partition = (partitionId: number) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] });
    assert.deepEqual(await admin.fetchTopicMetadata({ topics: ['m'] }), { topics: [{ name: 'm', partitions: [partition(0), partition(1)] }] });
    assert.deepEqual(
      (await admin.fetchTopicMetadata()).topics.map((t) => t.name),
      ['m', 'n'],
    );
    await rejectsWith(admin.fetchTopicMetadata({ topics: ['absent'] }), 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});

test('fetchTopicOffsets, fetchTopicOffsetsByTimestamp and deleteTopicRecords', async () => {
  await withAdmin(async (admin, db) => {
    await admin.createTopics({ topics: [{ topic: 'log', numPartitions: 2 }] });
    const producer = db.producer();
    await producer.send({ topic: 'log', messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i), partition: 0, timestamp: String(1000 + i * 10) })) });
    await producer.send({ topic: 'log', messages: [{ value: 'late', partition: 1, timestamp: '5000' }] });
    assert.deepEqual(await admin.fetchTopicOffsets('log'), [
      { partition: 0, offset: '10', high: '10', low: '0' },
      { partition: 1, offset: '1', high: '1', low: '0' },
    ]);
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp('log', 1035), [
      { partition: 0, offset: '4' },
      { partition: 1, offset: '0' },
    ]);
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp('log', 6000), [
      { partition: 0, offset: '10' },
      { partition: 1, offset: '1' },
    ]);
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp('log'), [
      { partition: 0, offset: '10' },
      { partition: 1, offset: '1' },
    ]);
    await admin.deleteTopicRecords({ topic: 'log', partitions: [{ partition: 0, offset: '6' }] });
    await admin.deleteTopicRecords({ topic: 'log', partitions: [{ partition: 1, offset: '-1' }] });
    assert.deepEqual(await admin.fetchTopicOffsets('log'), [
      { partition: 0, offset: '10', high: '10', low: '6' },
      { partition: 1, offset: '1', high: '1', low: '1' },
    ]);
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp('log', 0), [
      { partition: 0, offset: '6' },
      { partition: 1, offset: '1' },
    ]);
    assert.throws(
      () => db.engine.read('log', 0, 5),
      (err: unknown) => err instanceof OnelogError && err.code === 'OFFSET_OUT_OF_RANGE',
    );
    await rejectsWith(admin.deleteTopicRecords({ topic: 'log', partitions: [{ partition: 0, offset: '11' }] }), 'OFFSET_OUT_OF_RANGE');
    await rejectsWith(admin.deleteTopicRecords({ topic: 'log', partitions: [{ partition: 2, offset: '1' }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(admin.deleteTopicRecords({ topic: 'log', partitions: [{ partition: 0, offset: 'soon' }] }), 'INVALID_ARGUMENT');
    await rejectsWith(admin.fetchTopicOffsets('absent'), 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});

test('group offsets: fetchOffsets, setOffsets, resetOffsets (earliest and latest), resolveOffsets', async () => {
  await withAdmin(async (admin, db) => {
    await admin.createTopics({ topics: [{ topic: 'g', numPartitions: 2 }] });
    await db.producer().send({ topic: 'g', messages: Array.from({ length: 6 }, (_, i) => ({ value: String(i), partition: i % 2 })) });
    await admin.deleteTopicRecords({ topic: 'g', partitions: [{ partition: 1, offset: '1' }] });
    assert.deepEqual(await admin.fetchOffsets({ groupId: 'app', topics: ['g'] }), [
      {
        topic: 'g',
        partitions: [
          { partition: 0, offset: '-1', metadata: null },
          { partition: 1, offset: '-1', metadata: null },
        ],
      },
    ]);
    assert.deepEqual(await admin.fetchOffsets({ groupId: 'app' }), [], 'no topics named and none committed');
    await admin.setOffsets({ groupId: 'app', topic: 'g', partitions: [{ partition: 0, offset: '2' }] });
    assert.deepEqual(await admin.fetchOffsets({ groupId: 'app' }), [
      {
        topic: 'g',
        partitions: [
          { partition: 0, offset: '2', metadata: null },
          { partition: 1, offset: '-1', metadata: null },
        ],
      },
    ]);
    await admin.resetOffsets({ groupId: 'app', topic: 'g', earliest: true });
    assert.deepEqual(
      (await admin.fetchOffsets({ groupId: 'app', topics: ['g'] }))[0]!.partitions.map((p) => p.offset),
      ['0', '1'],
    );
    await admin.resetOffsets({ groupId: 'app', topic: 'g' });
    assert.deepEqual(
      (await admin.fetchOffsets({ groupId: 'app', topics: ['g'] }))[0]!.partitions.map((p) => p.offset),
      ['3', '3'],
    );
    const resolved = await admin.fetchOffsets({ groupId: 'fresh', topics: ['g'], resolveOffsets: true });
    assert.deepEqual(
      resolved[0]!.partitions.map((p) => p.offset),
      ['3', '3'],
      'uncommitted (-1) resolves to the highWatermark',
    );
    assert.deepEqual(
      db.engine.fetchOffsets('fresh').map((o) => o.offset),
      [3, 3],
      'and is committed',
    );
    await rejectsWith(admin.setOffsets({ groupId: 'app', topic: 'g', partitions: [] }), 'INVALID_ARGUMENT');
    await rejectsWith(admin.setOffsets({ groupId: 'app', topic: 'g', partitions: [{ partition: 7, offset: '0' }] }), 'UNKNOWN_TOPIC_OR_PARTITION');
    await rejectsWith(admin.setOffsets({ groupId: '', topic: 'g', partitions: [{ partition: 0, offset: '0' }] }), 'INVALID_ARGUMENT');
    await rejectsWith(admin.fetchOffsets({ groupId: 'app', topics: ['absent'] }), 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});

test('groups: listGroups, describeGroups and deleteGroups, with a live member from the coordinator', async () => {
  await withAdmin(async (admin, db) => {
    await admin.createTopics({ topics: [{ topic: 'g' }] });
    await admin.setOffsets({ groupId: 'idle', topic: 'g', partitions: [{ partition: 0, offset: '0' }] });
    const coordinator = new GroupCoordinator(db.engine);
    const joined = await coordinator.joinGroup({
      groupId: 'live',
      memberId: '',
      clientId: 'worker',
      protocolType: 'consumer',
      protocols: [{ name: 'roundrobin', metadata: Buffer.from('meta') }],
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
    });
    assert.equal(joined.error, 'NONE');
    const sync = await coordinator.syncGroup({ groupId: 'live', generationId: 1, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: Buffer.from('assigned') }] });
    assert.equal(sync.error, 'NONE');

    assert.deepEqual(await admin.listGroups(), {
      groups: [
        { groupId: 'idle', protocolType: 'consumer' },
        { groupId: 'live', protocolType: 'consumer' },
      ],
    });
    const { groups } = await admin.describeGroups(['live', 'idle', 'unknown']);
    assert.equal(groups[0]!.state, 'Stable');
    assert.equal(groups[0]!.protocol, 'roundrobin');
    assert.equal(groups[0]!.protocolType, 'consumer');
    assert.equal(groups[0]!.members.length, 1);
    assert.equal(groups[0]!.members[0]!.memberId, joined.memberId);
    assert.equal(groups[0]!.members[0]!.clientId, 'worker');
    assert.deepEqual(groups[0]!.members[0]!.memberMetadata, Buffer.from('meta'));
    assert.deepEqual(groups[0]!.members[0]!.memberAssignment, Buffer.from('assigned'));
    assert.deepEqual(groups[1], { groupId: 'idle', state: 'Empty', protocol: '', protocolType: 'consumer', members: [] });
    assert.equal(groups[2]!.state, 'Dead');

    await rejectsWith(admin.setOffsets({ groupId: 'live', topic: 'g', partitions: [{ partition: 0, offset: '0' }] }), 'UNKNOWN_MEMBER_ID');
    const refused = await rejectsWith(admin.deleteGroups(['live', 'idle', 'unknown']), 'INVALID_ARGUMENT');
    assert.match(refused.message, /live \(NON_EMPTY_GROUP/);
    assert.match(refused.message, /unknown \(GROUP_ID_NOT_FOUND/);
    assert.equal(db.engine.fetchOffsets('idle').length, 0, 'the deletable group was deleted');
    assert.equal((await admin.describeGroups(['live'])).groups[0]!.state, 'Stable');

    await coordinator.leaveGroup('live', [{ memberId: joined.memberId }]);
    assert.deepEqual(await admin.deleteGroups(['live']), [{ groupId: 'live', errorCode: 0 }]);
    assert.deepEqual(await admin.listGroups(), { groups: [] });
  });
});

test('describeConfigs shows set and default topic configs; alterConfigs replaces them as Kafka\'s AlterConfigs does', async () => {
  await withAdmin(async (admin, db) => {
    await admin.createTopics({ topics: [{ topic: 'c', configEntries: [{ name: 'retention.ms', value: '1000' }, { name: 'cleanup.policy', value: 'compact' }] }] });
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'c' }], includeSynonyms: false });
    assert.equal(described.resources.length, 1);
    const resource = described.resources[0]!;
    assert.equal(resource.resourceName, 'c');
    assert.equal(resource.resourceType, ConfigResourceTypes.TOPIC);
    assert.equal(resource.errorCode, 0);
    const byName = new Map(resource.configEntries.map((e) => [e.configName, e]));
    assert.deepEqual(byName.get('retention.ms'), { configName: 'retention.ms', configValue: '1000', isDefault: false, configSource: ConfigSource.TOPIC_CONFIG, isSensitive: false, readOnly: false, configSynonyms: [] });
    assert.equal(byName.get('max.message.bytes')?.configValue, '1048588');
    assert.equal(byName.get('max.message.bytes')?.isDefault, true);
    assert.equal(byName.get('max.message.bytes')?.configSource, ConfigSource.DEFAULT_CONFIG);
    const some = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'c', configNames: ['cleanup.policy'] }], includeSynonyms: true });
    assert.deepEqual(
      some.resources[0]!.configEntries.map((e) => [e.configName, e.configValue, e.configSynonyms.length]),
      [['cleanup.policy', 'compact', 1]],
    );

    const altered = await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'c', configEntries: [{ name: 'retention.ms', value: '5000' }] }] });
    assert.deepEqual(altered, { resources: [{ errorCode: 0, errorMessage: null, resourceName: 'c', resourceType: ConfigResourceTypes.TOPIC }], throttleTime: 0 });
    assert.deepEqual(db.engine.describeTopic('c')?.configs, { 'retention.ms': '5000' }, 'cleanup.policy, not named, returned to its default');
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'c', configEntries: [{ name: 'retention.ms', value: '7' }] }] });
    assert.equal(db.engine.describeTopic('c')?.configs['retention.ms'], '5000');
    await rejectsWith(admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'c', configEntries: [{ name: 'retention.ms', value: 'forever' }] }] }), 'INVALID_CONFIG');
    await rejectsWith(admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }], includeSynonyms: false }), 'INVALID_ARGUMENT');
    await rejectsWith(admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'absent' }], includeSynonyms: false }), 'UNKNOWN_TOPIC_OR_PARTITION');
  });
});
