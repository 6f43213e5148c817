// Tests of the admin APIs as third-party clients use them: kafkajs' admin (createTopics with configs and
// validateOnly, deleteTopics, createPartitions, describeConfigs, alterConfigs, deleteTopicRecords,
// describeCluster, fetchTopicMetadata) and @platformatic/kafka's Admin (createTopics, deleteTopics,
// createPartitions, describeConfigs, alterConfigs, incrementalAlterConfigs, deleteRecords), including the
// errors they surface for bad requests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

let served: ServedDatabase;

before(async () => {
  served = await startServer();
});

after(async () => {
  await served.close();
});

function topicInfo(name: string) {
  return served.db.engine.describeTopic(name);
}

/** The Kafka error type names a kafkajs admin failure carries (itself or, for aggregates, each cause). */
function errorTypes(err: unknown): string[] {
  const e = err as { type?: string; errors?: { type?: string }[] };
  return e.errors !== undefined ? e.errors.map((x) => x.type ?? '') : [e.type ?? ''];
}

async function kafkajsError(work: Promise<unknown>): Promise<string[]> {
  try {
    await work;
  } catch (err) {
    return errorTypes(err);
  }
  throw new Error('expected a failure');
}

test('kafkajs admin: topics, partitions, configs, records and cluster over the wire', { timeout: 30_000 }, async () => {
  const kafka = new Kafka({ clientId: 'admin-test', brokers: [served.broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs would wait for the leaders of topics that validateOnly did not create: it must not wait.
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kj-check', numPartitions: 2 }], validateOnly: true, waitForLeaders: false }), true);
    assert.equal(topicInfo('kj-check'), undefined);
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kj', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] }] }), true);
    assert.deepEqual([topicInfo('kj')?.partitions, topicInfo('kj')?.configs], [2, { 'retention.ms': '60000' }]);
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kj' }] }), false);
    assert.deepEqual(await kafkajsError(admin.createTopics({ topics: [{ topic: 'kj-rf', replicationFactor: 3 }] })), ['INVALID_REPLICATION_FACTOR']);
    assert.deepEqual(await kafkajsError(admin.createTopics({ topics: [{ topic: 'kj-cfg', configEntries: [{ name: 'retention.ms', value: 'x' }] }] })), ['INVALID_CONFIG']);

    const metadata = await admin.fetchTopicMetadata({ topics: ['kj'] });
    assert.deepEqual(metadata.topics.map((t) => [t.name, t.partitions.length]), [['kj', 2]]);

    await admin.createPartitions({ topicPartitions: [{ topic: 'kj', count: 4 }] });
    assert.equal(topicInfo('kj')?.partitions, 4);
    assert.deepEqual(await kafkajsError(admin.createPartitions({ topicPartitions: [{ topic: 'kj', count: 3 }] })), ['INVALID_PARTITIONS']);

    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kj' }], includeSynonyms: false });
    const entries = described.resources[0]?.configEntries ?? [];
    assert.equal(entries.find((e) => e.configName === 'retention.ms')?.configValue, '60000');
    assert.equal(entries.find((e) => e.configName === 'cleanup.policy')?.isDefault, true);
    const broker = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configNames: ['auto.create.topics.enable'] }], includeSynonyms: false });
    assert.deepEqual(broker.resources[0]?.configEntries.map((e) => [e.configName, e.configValue]), [['auto.create.topics.enable', 'true']]);

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kj', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    assert.deepEqual(topicInfo('kj')?.configs, { 'cleanup.policy': 'compact' });

    await served.db.engine.append('kj', 0, Array.from({ length: 5 }, (_, i) => ({ key: null, value: Buffer.from(String(i)), timestamp: Date.now() })));
    await admin.deleteTopicRecords({ topic: 'kj', partitions: [{ partition: 0, offset: '3' }] });
    assert.equal(served.db.engine.logStartOffset('kj', 0), 3);

    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => b.nodeId), [0]);
    assert.equal(cluster.controller, 0);
    assert.equal(cluster.clusterId, served.db.engine.stats().databaseId);

    await admin.deleteTopics({ topics: ['kj'] });
    assert.equal(topicInfo('kj'), undefined);
  } finally {
    await admin.disconnect();
  }
});

test('@platformatic/kafka Admin: topics, partitions, configs and records over the wire', { timeout: 30_000 }, async () => {
  const admin = new PlatformaticAdmin({ clientId: 'admin-test', bootstrapBrokers: [served.broker], retryDelay: 50 });
  try {
    const [created] = await admin.createTopics({ topics: ['pk'], partitions: 3, configs: [{ name: 'retention.ms', value: '1000' }] });
    assert.equal(created?.id, topicInfo('pk')?.topicId);
    assert.deepEqual([created?.partitions, created?.replicas, created?.configuration['retention.ms'], created?.configuration['cleanup.policy']], [3, 1, '1000', 'delete']);
    await assert.rejects(admin.createTopics({ topics: ['pk-rf'], replicas: 3 }));
    assert.equal(topicInfo('pk-rf'), undefined);

    await admin.createPartitions({ topics: [{ name: 'pk', count: 5 }] });
    assert.equal(topicInfo('pk')?.partitions, 5);
    await assert.rejects(admin.createPartitions({ topics: [{ name: 'pk', count: 2 }] }));

    const [described] = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'pk', configurationKeys: ['retention.ms'] }], includeSynonyms: true });
    assert.deepEqual(described?.configs.map((c) => [c.name, c.value, c.configSource, c.synonyms.map((s) => s.name)]), [['retention.ms', '1000', 1, ['retention.ms', 'log.retention.ms']]]);

    await admin.alterConfigs({ resources: [{ resourceType: 2, resourceName: 'pk', configs: [{ name: 'segment.ms', value: '100' }] }] });
    assert.deepEqual(topicInfo('pk')?.configs, { 'segment.ms': '100' });
    await admin.incrementalAlterConfigs({ resources: [{ resourceType: 2, resourceName: 'pk', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }, { name: 'segment.ms', configOperation: 1 }] }] });
    assert.deepEqual(topicInfo('pk')?.configs, { 'cleanup.policy': 'delete,compact' });
    await assert.rejects(admin.incrementalAlterConfigs({ resources: [{ resourceType: 2, resourceName: 'pk', configs: [{ name: 'retention.ms', configOperation: 2, value: '5' }] }] }));

    await served.db.engine.append('pk', 1, Array.from({ length: 4 }, (_, i) => ({ key: null, value: Buffer.from(String(i)), timestamp: Date.now() })));
    const deleted = await admin.deleteRecords({ topics: [{ name: 'pk', partitions: [{ partition: 1, offset: -1n }] }] });
    assert.deepEqual(deleted, [{ name: 'pk', partitions: [{ partition: 1, lowWatermark: 4n }] }]);

    await admin.deleteTopics({ topics: ['pk'] });
    assert.equal(topicInfo('pk'), undefined);
    await assert.rejects(admin.deleteTopics({ topics: ['pk'] }));
  } finally {
    await admin.close();
  }
});
