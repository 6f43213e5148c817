// Config resources as Kafka's admin APIs show them: a topic's configs (set ones and defaults, with their
// source, type and the broker setting each falls back to) and the one broker's read-only settings, in the
// shape DescribeConfigs and CreateTopics send; and the alteration of a topic's configs that AlterConfigs
// and IncrementalAlterConfigs share (which resources may change, through the engine's checks). The
// topic rules live in storage; this file keeps no state.
import { OnelogError } from '../errors.ts';
import type { Engine, TopicInfo } from '../storage/engine.ts';
import { describeTopicConfigs, TOPIC_CONFIG_DEFAULTS, topicConfigType, validateTopicName, type TopicConfigType } from '../storage/topic-rules.ts';
import { NODE_ID, type ServerContext } from './handler.ts';

/** Kafka's config resource types (ConfigResource.Type) that onelog knows. */
export const RESOURCE_TYPE = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's config sources (DescribeConfigsResponse.ConfigSource) that onelog reports. */
export const CONFIG_SOURCE = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

/** Kafka's config types (DescribeConfigsResponse.ConfigType). */
const CONFIG_TYPE: Readonly<Record<TopicConfigType | 'boolean', number>> = { boolean: 1, string: 2, int: 3, long: 5, list: 7 };

/** The broker setting each topic config defaults to in Kafka (LogConfig's synonyms). */
const BROKER_SYNONYM: Readonly<Record<string, string>> = {
  'compression.type': 'compression.type',
  'max.message.bytes': 'message.max.bytes',
  'message.timestamp.type': 'log.message.timestamp.type',
  'retention.ms': 'log.retention.ms',
  'retention.bytes': 'log.retention.bytes',
  'cleanup.policy': 'log.cleanup.policy',
  'segment.bytes': 'log.segment.bytes',
  'segment.ms': 'log.roll.ms',
  'min.compaction.lag.ms': 'log.cleaner.min.compaction.lag.ms',
  'max.compaction.lag.ms': 'log.cleaner.max.compaction.lag.ms',
  'delete.retention.ms': 'log.cleaner.delete.retention.ms',
  'min.insync.replicas': 'min.insync.replicas',
};

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string;
  readonly source: number;
}

/** One config of a resource: its value, where the value comes from, and its fallbacks (most specific first). */
export interface DescribedConfig {
  readonly name: string;
  readonly value: string;
  readonly readOnly: boolean;
  readonly source: number;
  readonly configType: number;
  readonly synonyms: readonly ConfigSynonym[];
}

function typeCode(name: string): number {
  const type = topicConfigType(name);
  return type === undefined ? 0 : CONFIG_TYPE[type];
}

/** A topic's configs (`names`: only those, unknown ones skipped; null: all), as Kafka describes them. */
export function describeTopic(configs: Readonly<Record<string, string>>, names: readonly string[] | null): DescribedConfig[] {
  return describeTopicConfigs(configs, names).map(({ name, value, isSet }) => {
    const brokerName = BROKER_SYNONYM[name];
    const fallback: ConfigSynonym[] = brokerName === undefined ? [] : [{ name: brokerName, value: TOPIC_CONFIG_DEFAULTS[name] ?? '', source: CONFIG_SOURCE.DEFAULT_CONFIG }];
    const synonyms = isSet ? [{ name, value, source: CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG }, ...fallback] : fallback;
    return { name, value, readOnly: false, source: isSet ? CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG : CONFIG_SOURCE.DEFAULT_CONFIG, configType: typeCode(name), synonyms };
  });
}

function brokerSetting(name: string, value: string, kafkaDefault: string | null, type: TopicConfigType | 'boolean'): DescribedConfig {
  const source = value === kafkaDefault ? CONFIG_SOURCE.DEFAULT_CONFIG : CONFIG_SOURCE.STATIC_BROKER_CONFIG;
  return { name, value, readOnly: true, source, configType: CONFIG_TYPE[type], synonyms: [{ name, value, source }] };
}

/**
 * The broker's settings clients look at, sorted by name (`names`: only those, unknown ones skipped): the
 * server's own (node id, listener, auto-creation, default partition count) and the topic defaults under
 * their broker names. All read-only: they are fixed when the server starts.
 */
export function describeBroker(server: ServerContext, names: readonly string[] | null): DescribedConfig[] {
  const settings = [
    brokerSetting('broker.id', String(NODE_ID), null, 'int'),
    brokerSetting('advertised.listeners', `PLAINTEXT://${server.advertisedHost}:${String(server.advertisedPort)}`, null, 'string'),
    brokerSetting('auto.create.topics.enable', String(server.autoCreateTopics), 'true', 'boolean'),
    brokerSetting('num.partitions', String(server.numPartitions), '1', 'int'),
    brokerSetting('default.replication.factor', '1', '1', 'int'),
    brokerSetting('delete.topic.enable', 'true', 'true', 'boolean'),
    ...Object.entries(BROKER_SYNONYM).map(([topicName, name]) => {
      const value = TOPIC_CONFIG_DEFAULTS[topicName] ?? '';
      return brokerSetting(name, value, value, topicConfigType(topicName) ?? 'string');
    }),
  ].sort((a, b) => a.name.localeCompare(b.name));
  return names === null ? settings : names.flatMap((n) => settings.filter((s) => s.name === n));
}

/** Whether a BROKER resource name means this broker: its node id, or '' (Kafka's cluster-wide default). */
export function isThisBroker(resourceName: string): boolean {
  return resourceName === '' || resourceName === String(NODE_ID);
}

/** The topic a TOPIC resource names: an invalid name is INVALID_TOPIC_NAME, a missing topic UNKNOWN_TOPIC_OR_PARTITION. */
export function topicResource(engine: Engine, resourceName: string): TopicInfo {
  validateTopicName(resourceName);
  const info = engine.describeTopic(resourceName);
  if (info === undefined) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${JSON.stringify(resourceName)} does not exist.`, { topic: resourceName });
  return info;
}

/**
 * Alters the configs of the topic an alter request's resource names: `change` turns the topic's current
 * configs into the change to make (null: back to the default), or throws; validateOnly makes every check
 * without changing anything. Only topic configs change over the wire: a BROKER resource and every other
 * type are refused (INVALID_ARGUMENT, Kafka's INVALID_REQUEST), as are config names given twice.
 */
export async function alterTopic(
  engine: Engine,
  resource: { readonly resourceType: number; readonly resourceName: string; readonly configs: readonly { readonly name: string }[] },
  change: (current: Readonly<Record<string, string>>) => Record<string, string | null>,
  validateOnly: boolean,
): Promise<void> {
  const { resourceType, resourceName } = resource;
  if (resourceType === RESOURCE_TYPE.BROKER) {
    throw new OnelogError('INVALID_ARGUMENT', `Broker configs are fixed when \`onelog serve\` starts and cannot be altered over the wire; alter topic configs (resource type ${String(RESOURCE_TYPE.TOPIC)}) instead.`);
  }
  if (resourceType !== RESOURCE_TYPE.TOPIC) {
    throw new OnelogError('INVALID_ARGUMENT', `Config resource type ${String(resourceType)} is not supported: only topic configs (resource type ${String(RESOURCE_TYPE.TOPIC)}) can be altered.`);
  }
  const names = resource.configs.map((c) => c.name);
  const twice = names.filter((name, i) => names.indexOf(name) !== i);
  if (twice.length > 0) throw new OnelogError('INVALID_ARGUMENT', `Topic ${resourceName}: config ${twice.join(', ')} is given more than once.`, { topic: resourceName });
  const wanted = change(topicResource(engine, resourceName).configs);
  if (validateOnly) engine.checkAlterTopicConfigs(resourceName, wanted);
  else await engine.alterTopicConfigs(resourceName, wanted);
}

/** The values of configs given as `name`/`value` pairs; a null value is refused (Kafka's INVALID_REQUEST). */
export function configValues(topic: string, configs: readonly { readonly name: string; readonly value: string | null }[]): Record<string, string> {
  const nulls = configs.filter((c) => c.value === null).map((c) => c.name);
  if (nulls.length > 0) throw new OnelogError('INVALID_ARGUMENT', `Topic ${topic}: a null value is not supported for ${nulls.join(', ')}.`, { topic });
  return Object.fromEntries(configs.map((c) => [c.name, c.value ?? '']));
}
