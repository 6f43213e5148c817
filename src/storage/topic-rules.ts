// Kafka's rules for topic names and the topic configs onelog understands, with their defaults and checks.
// Pure validation: no I/O, no engine state.

import { OnelogError } from '../errors.ts';
import type { CompressionType } from '../format/compression.ts';

const LEGAL_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateTopicName(name: string): void {
  if (!LEGAL_NAME.test(name) || name === '.' || name === '..') {
    throw new OnelogError(
      'INVALID_TOPIC_NAME',
      `Invalid topic name ${JSON.stringify(name)}: use 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-', and not '.' or '..'.`,
      { topic: name },
    );
  }
}

export const MAX_PARTITIONS_PER_TOPIC = 10_000;

export function validatePartitionCount(topic: string, count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS_PER_TOPIC) {
    throw new OnelogError('INVALID_PARTITIONS', `Topic ${topic}: partition count must be an integer from 1 to ${MAX_PARTITIONS_PER_TOPIC}, got ${String(count)}.`, { topic });
  }
}

type Check = (value: string) => boolean;

const isLong = (min: number): Check => (v) => /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Number(v) >= min;
const oneOf = (...values: string[]): Check => (v) => values.includes(v);

/** How a config's value reads, as Kafka types it: a list is comma-separated (APPEND/SUBTRACT work on it). */
export type TopicConfigType = 'string' | 'int' | 'long' | 'list';

interface TopicConfigRule {
  readonly defaultValue: string;
  readonly type: TopicConfigType;
  readonly check: Check;
}

const RULES: Readonly<Record<string, TopicConfigRule>> = {
  'compression.type': { defaultValue: 'producer', type: 'string', check: oneOf('producer', 'uncompressed', 'none', 'gzip', 'snappy', 'lz4', 'zstd') },
  'max.message.bytes': { defaultValue: '1048588', type: 'int', check: isLong(0) },
  'message.timestamp.type': { defaultValue: 'CreateTime', type: 'string', check: oneOf('CreateTime', 'LogAppendTime') },
  'retention.ms': { defaultValue: '604800000', type: 'long', check: isLong(-1) },
  'retention.bytes': { defaultValue: '-1', type: 'long', check: isLong(-1) },
  'cleanup.policy': { defaultValue: 'delete', type: 'list', check: oneOf('delete', 'compact', 'compact,delete', 'delete,compact') },
  'segment.bytes': { defaultValue: '1073741824', type: 'int', check: isLong(14) },
  'segment.ms': { defaultValue: '604800000', type: 'long', check: isLong(1) },
  'min.compaction.lag.ms': { defaultValue: '0', type: 'long', check: isLong(0) },
  'max.compaction.lag.ms': { defaultValue: '9223372036854775807', type: 'long', check: (v) => /^\d+$/.test(v) },
  'delete.retention.ms': { defaultValue: '86400000', type: 'long', check: isLong(0) },
  'min.insync.replicas': { defaultValue: '1', type: 'int', check: isLong(1) },
};

/** Topic configs onelog accepts, with Kafka's defaults. Values are strings, as in Kafka. */
export const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(RULES).map(([name, rule]) => [name, rule.defaultValue]));

function ruleOf(name: string): TopicConfigRule | undefined {
  return Object.hasOwn(RULES, name) ? RULES[name] : undefined;
}

/** The type of a config onelog accepts, or undefined for a name it does not know. */
export function topicConfigType(name: string): TopicConfigType | undefined {
  return ruleOf(name)?.type;
}

export function validateTopicConfigs(topic: string, configs: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(configs)) {
    const rule = ruleOf(key);
    if (rule === undefined) {
      throw new OnelogError('INVALID_CONFIG', `Topic ${topic}: unknown config ${JSON.stringify(key)}. Known configs: ${Object.keys(RULES).join(', ')}.`, { topic });
    }
    if (!rule.check(value)) {
      throw new OnelogError('INVALID_CONFIG', `Topic ${topic}: invalid value ${JSON.stringify(value)} for ${key} (default ${TOPIC_CONFIG_DEFAULTS[key] ?? ''}).`, { topic });
    }
  }
}

export function topicConfig(configs: Readonly<Record<string, string>>, key: string): string {
  return (Object.hasOwn(configs, key) ? configs[key] : undefined) ?? ruleOf(key)?.defaultValue ?? '';
}

/** One config of a topic as described to a client: its value and whether the topic sets it (else the default). */
export interface DescribedTopicConfig {
  readonly name: string;
  readonly value: string;
  readonly isSet: boolean;
}

/**
 * Every config of a topic with its value, the ones it sets and the rest at their defaults, sorted by name;
 * with `names`, only those (in that order), skipping names that are no config, as Kafka's DescribeConfigs.
 */
export function describeTopicConfigs(configs: Readonly<Record<string, string>>, names: readonly string[] | null): DescribedTopicConfig[] {
  const known = new Set([...Object.keys(RULES), ...Object.keys(configs)]);
  const wanted = names === null ? [...known].sort() : names.filter((name) => known.has(name));
  return wanted.map((name) => {
    const isSet = Object.hasOwn(configs, name);
    return { name, value: topicConfig(configs, name), isSet };
  });
}

/**
 * The change (null: back to the default) that replaces a topic's set configs by `wanted`, as Kafka's
 * legacy AlterConfigs does: the configs named are set, every other one returns to its default.
 */
export function replacingTopicConfigs(current: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): Record<string, string | null> {
  const change: Record<string, string | null> = { ...wanted };
  for (const key of Object.keys(current)) if (!Object.hasOwn(wanted, key)) change[key] = null;
  return change;
}

/** The codec the engine writes for a topic, or null when the producer's choice is kept ('producer'). */
export function topicCompression(configs: Readonly<Record<string, string>>): CompressionType | null {
  const v = topicConfig(configs, 'compression.type');
  if (v === 'producer') return null;
  if (v === 'uncompressed') return 'none';
  return v as CompressionType;
}
