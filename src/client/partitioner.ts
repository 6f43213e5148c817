// Choosing a partition for a message, as kafkajs' DefaultPartitioner (Kafka's Java partitioner) does:
// an explicit partition wins, a keyed message goes to toPositive(murmur2(key)) % numPartitions, and an
// unkeyed one goes round-robin. Pure functions and closures over counters: no I/O, no engine access.

import { randomInt } from 'node:crypto';
import type { ICustomPartitioner, Message, PartitionMetadata, PartitionerArgs } from './types.ts';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's Utils.murmur2 (MurmurHash2, 32-bit, seed 0x9747b28c) of `data`, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Metadata of `count` partitions as one broker (node 0) leading them all reports it. */
export function partitionMetadataOf(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] }));
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Bytes of a message key as kafkajs hashes them: a Buffer as is, anything else as its UTF-8 string. */
function keyBytes(key: Buffer | string): Uint8Array {
  return Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
}

/** The partition Kafka's default partitioner gives a keyed record on a topic with `numPartitions`. */
export function partitionForKey(key: Buffer | string, numPartitions: number): number {
  return toPositive(murmur2(keyBytes(key))) % numPartitions;
}

/**
 * A partitioner taking kafkajs' arguments positionally: the producer calls one per message, and the default
 * rules then cost no arguments object per message.
 */
export type PartitionChooser = (topic: string, partitionMetadata: PartitionMetadata[], message: Message) => number;

/**
 * kafkajs' DefaultPartitioner rules (Java-compatible murmur2) as a chooser: explicit partition, else key
 * hash, else round-robin over the topic's partitions from a random start per topic.
 */
function defaultChooser(): PartitionChooser {
  const counters = new Map<string, number>();
  return (topic, partitionMetadata, message) => {
    // JavaScript callers may pass null, as kafkajs allows; the producer checks the value is a partition.
    const explicit: unknown = message.partition;
    if (explicit !== undefined && explicit !== null) return explicit as number;
    const numPartitions = partitionMetadata.length;
    if (message.key !== undefined && message.key !== null) return partitionForKey(message.key, numPartitions);
    const next = ((counters.get(topic) ?? randomInt(0x40000000)) + 1) | 0;
    counters.set(topic, next);
    return partitionMetadata[toPositive(next) % numPartitions]!.partitionId;
  };
}

/** kafkajs' DefaultPartitioner (Java-compatible murmur2): see defaultChooser. */
export const DefaultPartitioner: ICustomPartitioner = () => {
  const choose = defaultChooser();
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => choose(topic, partitionMetadata, message);
};

/**
 * The chooser of a producer configured with `createPartitioner`: the default rules called directly, or the
 * custom partitioner called with kafkajs' arguments object, as kafkajs calls it.
 */
export function partitionChooser(createPartitioner: ICustomPartitioner | undefined): PartitionChooser {
  if (createPartitioner === undefined || createPartitioner === DefaultPartitioner) return defaultChooser();
  const partitioner = createPartitioner();
  return (topic, partitionMetadata, message) => partitioner({ topic, partitionMetadata, message });
}

/** kafkajs' partitioner registry. LegacyPartitioner (kafkajs 1.x hashing) is not provided. */
export const Partitioners = {
  DefaultPartitioner,
  /** @deprecated kafkajs' old name for DefaultPartitioner. */
  JavaCompatiblePartitioner: DefaultPartitioner,
} as const;
