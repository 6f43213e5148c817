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

/** Topic configs onelog accepts, with Kafka's defaults. Values are strings, as in Kafka. */
export const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  'compression.type': 'producer',
  'max.message.bytes': '1048588',
  'message.timestamp.type': 'CreateTime',
  'retention.ms': '604800000',
  'retention.bytes': '-1',
  'cleanup.policy': 'delete',
  'segment.bytes': '1073741824',
  'segment.ms': '604800000',
  'min.compaction.lag.ms': '0',
  'max.compaction.lag.ms': '9223372036854775807',
  'delete.retention.ms': '86400000',
  'min.insync.replicas': '1',
};

const CHECKS: Readonly<Record<string, Check>> = {
  'compression.type': oneOf('producer', 'uncompressed', 'none', 'gzip', 'snappy', 'lz4', 'zstd'),
  'max.message.bytes': isLong(0),
  'message.timestamp.type': oneOf('CreateTime', 'LogAppendTime'),
  'retention.ms': isLong(-1),
  'retention.bytes': isLong(-1),
  'cleanup.policy': oneOf('delete', 'compact', 'compact,delete', 'delete,compact'),
  'segment.bytes': isLong(14),
  'segment.ms': isLong(1),
  'min.compaction.lag.ms': isLong(0),
  'max.compaction.lag.ms': (v) => /^\d+$/.test(v),
  'delete.retention.ms': isLong(0),
  'min.insync.replicas': isLong(1),
};

export function validateTopicConfigs(topic: string, configs: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(configs)) {
    const check = CHECKS[key];
    if (check === undefined) {
      throw new OnelogError('INVALID_CONFIG', `Topic ${topic}: unknown config ${JSON.stringify(key)}. Known configs: ${Object.keys(CHECKS).join(', ')}.`, { topic });
    }
    if (!check(value)) {
      throw new OnelogError('INVALID_CONFIG', `Topic ${topic}: invalid value ${JSON.stringify(value)} for ${key} (default ${TOPIC_CONFIG_DEFAULTS[key] ?? ''}).`, { topic });
    }
  }
}

export function topicConfig(configs: Readonly<Record<string, string>>, key: string): string {
  return configs[key] ?? TOPIC_CONFIG_DEFAULTS[key] ?? '';
}

/** The codec the engine writes for a topic, or null when the producer's choice is kept ('producer'). */
export function topicCompression(configs: Readonly<Record<string, string>>): CompressionType | null {
  const v = topicConfig(configs, 'compression.type');
  if (v === 'producer') return null;
  if (v === 'uncompressed') return 'none';
  return v as CompressionType;
}
