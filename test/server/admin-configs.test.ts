// Tests of the config admin APIs over the wire at their oldest and newest versions, with onelog's own
// codec as the client: DescribeConfigs (topic and broker resources, sources, synonyms, types, key
// filters), AlterConfigs (replaces the set) and IncrementalAlterConfigs (SET, DELETE, APPEND, SUBTRACT),
// with validateOnly, and the per-resource error codes of bad requests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { decodeAlterConfigsResponse, encodeAlterConfigsRequest, type AlterConfigsRequest } from '../../src/protocol/generated/alter-configs.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeDescribeConfigsResponse, encodeDescribeConfigsRequest, type DescribeConfigsRequest } from '../../src/protocol/generated/describe-configs.ts';
import {
  decodeIncrementalAlterConfigsResponse,
  encodeIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsRequest,
} from '../../src/protocol/generated/incremental-alter-configs.ts';
import { TOPIC_CONFIG_DEFAULTS } from '../../src/storage/topic-rules.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const TOPIC = 2;
const BROKER = 4;
const DYNAMIC_TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;

let served: ServedDatabase;
let raw: RawClient;

before(async () => {
  served = await startServer({ open: { numPartitions: 3 }, serve: { autoCreateTopics: false } });
  raw = await connectRaw(served.broker);
  await served.db.engine.createTopic('conf', { configs: { 'retention.ms': '5000' } });
});

after(async () => {
  raw.close();
  await served.close();
});

function describe(version: number, resources: DescribeConfigsRequest['resources'], includeSynonyms = false) {
  return raw.request(API_KEYS.DESCRIBE_CONFIGS, version, encodeDescribeConfigsRequest, { resources, includeSynonyms, includeDocumentation: false }, decodeDescribeConfigsResponse);
}

function alter(version: number, resources: AlterConfigsRequest['resources'], validateOnly = false) {
  return raw.request(API_KEYS.ALTER_CONFIGS, version, encodeAlterConfigsRequest, { resources, validateOnly }, decodeAlterConfigsResponse);
}

function incremental(version: number, resources: IncrementalAlterConfigsRequest['resources'], validateOnly = false) {
  return raw.request(API_KEYS.INCREMENTAL_ALTER_CONFIGS, version, encodeIncrementalAlterConfigsRequest, { resources, validateOnly }, decodeIncrementalAlterConfigsResponse);
}

function configsOf(topic: string): Readonly<Record<string, string>> | undefined {
  return served.db.engine.describeTopic(topic)?.configs;
}

test('DescribeConfigs v0 shows every topic config (null or empty keys), set ones not default', async () => {
  const res = await describe(0, [{ resourceType: TOPIC, resourceName: 'conf', configurationKeys: null }]);
  const [result] = res.results;
  assert.ok(result !== undefined);
  assert.equal(result.errorCode, 0);
  assert.equal(result.errorMessage, null);
  assert.deepEqual(result.configs.map((c) => c.name).sort(), Object.keys(TOPIC_CONFIG_DEFAULTS).sort());
  const retention = result.configs.find((c) => c.name === 'retention.ms');
  assert.deepEqual([retention?.value, retention?.isDefault, retention?.readOnly, retention?.isSensitive], ['5000', false, false, false]);
  const cleanup = result.configs.find((c) => c.name === 'cleanup.policy');
  assert.deepEqual([cleanup?.value, cleanup?.isDefault], ['delete', true]);
  const emptyKeys = await describe(0, [{ resourceType: TOPIC, resourceName: 'conf', configurationKeys: [] }]);
  assert.equal(emptyKeys.results[0]?.configs.length, result.configs.length, 'an empty key list means every config, as in Kafka');
});

test('DescribeConfigs v4 gives sources, types, synonyms when asked, and filters by key', async () => {
  const res = await describe(4, [{ resourceType: TOPIC, resourceName: 'conf', configurationKeys: ['retention.ms', 'cleanup.policy', 'not.a.config'] }], true);
  const configs = res.results[0]?.configs ?? [];
  assert.deepEqual(
    configs.map((c) => [c.name, c.value, c.configSource, c.configType, c.documentation]),
    [
      ['retention.ms', '5000', DYNAMIC_TOPIC_CONFIG, 5, null],
      ['cleanup.policy', 'delete', DEFAULT_CONFIG, 7, null],
    ],
  );
  assert.deepEqual(configs[0]?.synonyms, [
    { name: 'retention.ms', value: '5000', source: DYNAMIC_TOPIC_CONFIG },
    { name: 'log.retention.ms', value: TOPIC_CONFIG_DEFAULTS['retention.ms'], source: DEFAULT_CONFIG },
  ]);
  const noSynonyms = await describe(1, [{ resourceType: TOPIC, resourceName: 'conf', configurationKeys: ['retention.ms'] }], false);
  assert.deepEqual(noSynonyms.results[0]?.configs[0]?.synonyms, []);
  assert.equal(noSynonyms.results[0].configs[0].configSource, DYNAMIC_TOPIC_CONFIG);
});

test('DescribeConfigs describes broker 0 (and the cluster default, "") with the settings clients read', async () => {
  const res = await describe(4, [
    { resourceType: BROKER, resourceName: '0', configurationKeys: null },
    { resourceType: BROKER, resourceName: '', configurationKeys: ['num.partitions'] },
  ]);
  const [broker, byDefault] = res.results;
  const value = (name: string): string | null | undefined => broker?.configs.find((c) => c.name === name)?.value;
  assert.equal(broker?.errorCode, 0);
  assert.equal(value('auto.create.topics.enable'), 'false');
  assert.equal(value('num.partitions'), '3');
  assert.equal(value('message.max.bytes'), TOPIC_CONFIG_DEFAULTS['max.message.bytes']);
  assert.equal(value('log.retention.ms'), TOPIC_CONFIG_DEFAULTS['retention.ms']);
  assert.equal(value('broker.id'), '0');
  assert.ok(broker.configs.every((c) => c.readOnly));
  assert.equal(broker.configs.find((c) => c.name === 'num.partitions')?.configSource, 4);
  assert.equal(broker.configs.find((c) => c.name === 'log.retention.ms')?.configSource, DEFAULT_CONFIG);
  assert.deepEqual(byDefault?.configs.map((c) => [c.name, c.value]), [['num.partitions', '3']]);
});

test('DescribeConfigs answers each bad resource with its own error code', async () => {
  const res = await describe(2, [
    { resourceType: TOPIC, resourceName: 'absent', configurationKeys: null },
    { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
    { resourceType: BROKER, resourceName: '7', configurationKeys: null },
    { resourceType: 8, resourceName: '0', configurationKeys: null },
    { resourceType: TOPIC, resourceName: 'conf', configurationKeys: ['min.insync.replicas'] },
  ]);
  assert.deepEqual(
    res.results.map((r) => [r.resourceType, r.resourceName, r.errorCode, r.configs.length]),
    [
      [TOPIC, 'absent', ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION, 0],
      [TOPIC, 'bad/name', ERROR_CODES.INVALID_TOPIC_EXCEPTION, 0],
      [BROKER, '7', ERROR_CODES.INVALID_REQUEST, 0],
      [8, '0', ERROR_CODES.INVALID_REQUEST, 0],
      [TOPIC, 'conf', 0, 1],
    ],
  );
  assert.ok(res.results.slice(0, 4).every((r) => typeof r.errorMessage === 'string'));
  assert.equal(served.db.engine.describeTopic('absent'), undefined);
});

test('AlterConfigs v0 and v2 replace the whole set of a topic\'s configs; validateOnly changes nothing', async () => {
  await served.db.engine.createTopic('alt', { configs: { 'retention.ms': '1000', 'cleanup.policy': 'compact' } });
  const checked = await alter(0, [{ resourceType: TOPIC, resourceName: 'alt', configs: [{ name: 'segment.ms', value: '100' }] }], true);
  assert.deepEqual(checked.responses, [{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: 'alt' }]);
  assert.deepEqual(configsOf('alt'), { 'retention.ms': '1000', 'cleanup.policy': 'compact' });
  const v0 = await alter(0, [{ resourceType: TOPIC, resourceName: 'alt', configs: [{ name: 'retention.ms', value: '2000' }] }]);
  assert.equal(v0.responses[0]?.errorCode, 0);
  assert.deepEqual(configsOf('alt'), { 'retention.ms': '2000' });
  const v2 = await alter(2, [{ resourceType: TOPIC, resourceName: 'alt', configs: [{ name: 'compression.type', value: 'zstd' }] }]);
  assert.equal(v2.responses[0]?.errorCode, 0);
  assert.deepEqual(configsOf('alt'), { 'compression.type': 'zstd' });
});

test('AlterConfigs answers each bad resource with its own error code and changes only the good ones', async () => {
  for (const name of ['bad-value', 'bad-null', 'bad-twice', 'too-big', 'fine']) await served.db.engine.createTopic(name, { configs: { 'retention.ms': '1000' } });
  const res = await alter(1, [
    { resourceType: TOPIC, resourceName: 'bad-value', configs: [{ name: 'retention.ms', value: 'forever' }] },
    { resourceType: TOPIC, resourceName: 'absent', configs: [] },
    { resourceType: TOPIC, resourceName: 'conf', configs: [{ name: 'bogus.config', value: '1' }] },
    { resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.partitions', value: '5' }] },
    { resourceType: TOPIC, resourceName: 'bad-null', configs: [{ name: 'retention.ms', value: null }] },
    { resourceType: TOPIC, resourceName: 'bad-twice', configs: [{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }] },
    { resourceType: TOPIC, resourceName: 'too-big', configs: [{ name: 'max.message.bytes', value: '999999999999' }] },
    { resourceType: TOPIC, resourceName: 'fine', configs: [{ name: 'retention.ms', value: '3000' }] },
    { resourceType: TOPIC, resourceName: 'alt', configs: [] },
    { resourceType: TOPIC, resourceName: 'alt', configs: [] },
  ]);
  assert.deepEqual(
    res.responses.map((r) => [r.resourceName, r.errorCode]),
    [
      ['bad-value', ERROR_CODES.INVALID_CONFIG],
      ['absent', ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION],
      ['conf', ERROR_CODES.INVALID_CONFIG],
      ['0', ERROR_CODES.INVALID_REQUEST],
      ['bad-null', ERROR_CODES.INVALID_REQUEST],
      ['bad-twice', ERROR_CODES.INVALID_REQUEST],
      ['too-big', ERROR_CODES.INVALID_CONFIG],
      ['fine', 0],
      ['alt', ERROR_CODES.INVALID_REQUEST],
    ],
  );
  for (const name of ['bad-value', 'bad-null', 'bad-twice', 'too-big']) assert.deepEqual(configsOf(name), { 'retention.ms': '1000' }, name);
  assert.deepEqual(configsOf('fine'), { 'retention.ms': '3000' });
  assert.deepEqual(configsOf('conf'), { 'retention.ms': '5000' });
  assert.deepEqual(configsOf('alt'), { 'compression.type': 'zstd' });
});

test('IncrementalAlterConfigs v0 and v1 SET, DELETE, APPEND and SUBTRACT single configs; validateOnly changes nothing', async () => {
  await served.db.engine.createTopic('inc', { configs: { 'retention.ms': '1000', 'segment.ms': '500' } });
  const v0 = await incremental(0, [
    {
      resourceType: TOPIC,
      resourceName: 'inc',
      configs: [
        { name: 'retention.bytes', configOperation: 0, value: '4096' },
        { name: 'segment.ms', configOperation: 1, value: null },
        { name: 'cleanup.policy', configOperation: 2, value: 'compact' },
      ],
    },
  ]);
  assert.deepEqual(v0.responses, [{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: 'inc' }]);
  assert.deepEqual(configsOf('inc'), { 'retention.ms': '1000', 'retention.bytes': '4096', 'cleanup.policy': 'delete,compact' });
  const checked = await incremental(1, [{ resourceType: TOPIC, resourceName: 'inc', configs: [{ name: 'retention.ms', configOperation: 1, value: null }] }], true);
  assert.equal(checked.responses[0]?.errorCode, 0);
  assert.equal(configsOf('inc')?.['retention.ms'], '1000');
  const v1 = await incremental(1, [{ resourceType: TOPIC, resourceName: 'inc', configs: [{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }] }]);
  assert.equal(v1.responses[0]?.errorCode, 0);
  assert.equal(configsOf('inc')?.['cleanup.policy'], 'compact');
  const described = await describe(4, [{ resourceType: TOPIC, resourceName: 'inc', configurationKeys: ['cleanup.policy'] }]);
  assert.equal(described.results[0]?.configs[0]?.value, 'compact');
});

test('IncrementalAlterConfigs answers each bad resource with its own error code', async () => {
  await served.db.engine.createTopic('inc-bad', { configs: { 'retention.ms': '1000' } });
  const op = (name: string, configOperation: number, value: string | null) => ({ resourceType: TOPIC, resourceName: 'inc-bad', configs: [{ name, configOperation, value }] });
  const cases: [IncrementalAlterConfigsRequest['resources'][number], number][] = [
    [op('retention.ms', 2, '5'), ERROR_CODES.INVALID_CONFIG],
    [op('retention.ms', 9, '5'), ERROR_CODES.INVALID_REQUEST],
    [op('retention.ms', 0, null), ERROR_CODES.INVALID_REQUEST],
    [op('retention.ms', 0, 'never'), ERROR_CODES.INVALID_CONFIG],
    [op('no.such', 0, '1'), ERROR_CODES.INVALID_CONFIG],
    [op('__proto__', 0, '1'), ERROR_CODES.INVALID_CONFIG],
    [op('constructor', 0, '1'), ERROR_CODES.INVALID_CONFIG],
    [op('cleanup.policy', 3, 'delete'), ERROR_CODES.INVALID_CONFIG],
    [{ resourceType: BROKER, resourceName: '0', configs: [] }, ERROR_CODES.INVALID_REQUEST],
    [{ resourceType: TOPIC, resourceName: 'absent', configs: [] }, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION],
  ];
  for (const [resource, errorCode] of cases) {
    const res = await incremental(1, [resource]);
    assert.equal(res.responses[0]?.errorCode, errorCode, JSON.stringify(resource));
    assert.equal(typeof res.responses[0].errorMessage, 'string');
  }
  assert.deepEqual(configsOf('inc-bad'), { 'retention.ms': '1000' });
});
