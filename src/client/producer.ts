// The kafkajs-shaped producer: send/sendBatch turn messages into one Kafka batch per partition (split
// only where a batch would pass the topic's max.message.bytes) and append them to the engine, whose group
// commit shares fdatasyncs between concurrent sends. Idempotent mode stamps batches with a producerId and
// per-partition sequences. It does no reading, no offsets and no group work, and never touches the file
// except through Engine.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { OnelogError } from '../errors.ts';
import { COMPRESSION_TYPES, type CompressionType } from '../format/compression.ts';
import { maxRecordBytes, RECORD_BATCH_OVERHEAD, type RecordInput } from '../format/record-batch.ts';
import type { AppendResult, Engine, TopicInfo } from '../storage/engine.ts';
import { topicConfig } from '../storage/topic-rules.ts';
import { toRecordInput } from './messages.ts';
import type { InstrumentationEvent } from './consumer-types.ts';
import { partitionChooser, partitionMetadataOf, type PartitionChooser } from './partitioner.ts';
import type { ICustomPartitioner, Message, PartitionMetadata, ProducerBatch, ProducerRecord, RecordMetadata, RetryOptions, TopicMessages } from './types.ts';

export interface ProducerConfig {
  /** A kafkajs-style partitioner factory; default: Java-compatible DefaultPartitioner. */
  createPartitioner?: ICustomPartitioner;
  /** Retries of retriable failures (writer lock BUSY, out-of-order sequence); kafkajs' defaults. */
  retry?: RetryOptions;
  /** Create a missing topic on send, with the database's numPartitions (default true, as kafkajs). */
  allowAutoTopicCreation?: boolean;
  /** Stamp batches with a producerId and per-partition sequences so a retried batch is not written twice. */
  idempotent?: boolean;
  /** Accepted for kafkajs compatibility; metadata is read from the file on every send. */
  metadataMaxAge?: number;
  /** Accepted for kafkajs compatibility; appends are not limited in flight. */
  maxInFlightRequests?: number;
}

/** kafkajs' producer instrumentation events that exist without a network: connect and disconnect. */
export const PRODUCER_EVENTS = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
} as const;
export type ProducerEventName = (typeof PRODUCER_EVENTS)[keyof typeof PRODUCER_EVENTS];

/** A producer identity: sequences are per identity, so a reset starts them over under a new producerId. */
interface Identity {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly sequences: Map<string, number>;
}

interface Stamp {
  readonly identity: Identity;
  readonly baseSequence: number;
}

/** The records a send puts in one partition, and the sum of their maxRecordBytes. */
interface PartitionRecords {
  readonly records: RecordInput[];
  bytes: number;
}

interface PartitionWrite {
  readonly topic: string;
  readonly partition: number;
  readonly appends: Promise<AppendResult>[];
}

const SEQUENCE_MODULUS = 0x8000_0000;
/** Upper bound of a record's framing in a batch beyond its key, value and header bytes (varints, attributes). */

const CODECS: readonly CompressionType[] = COMPRESSION_TYPES;

/** kafkajs' backoff: initialRetryTime * multiplier^attempt, randomized by +-factor, capped at maxRetryTime. */
function retryDelay(retry: RetryOptions, attempt: number): number {
  const base = (retry.initialRetryTime ?? 300) * (retry.multiplier ?? 2) ** attempt;
  const factor = retry.factor ?? 0.2;
  return Math.min(retry.maxRetryTime ?? 30_000, Math.ceil(base * (1 - factor + 2 * factor * Math.random())));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `work`, running it again after kafkajs' backoff while it fails with a retriable OnelogError. */
export async function retrying<T>(retry: RetryOptions, work: () => Promise<T>): Promise<T> {
  const retries = retry.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof OnelogError && err.retriable && attempt < retries)) throw err;
      await sleep(retryDelay(retry, attempt));
    }
  }
}

function compressionOf(value: unknown): CompressionType {
  if (value === undefined || value === null) return 'none';
  const codec = typeof value === 'number' ? CODECS[value] : undefined;
  if (codec === undefined) {
    throw new OnelogError('UNSUPPORTED_COMPRESSION', `Unknown compression ${JSON.stringify(value)}: use CompressionTypes.None, GZIP, Snappy, LZ4 or ZSTD (0 to 4).`);
  }
  return codec;
}

/**
 * Splits a partition's records into batches that stay under `limit` bytes (a lone larger record is its own
 * batch); `bytes` is the sum of their maxRecordBytes, so records that fit together are not measured again.
 */
function chunk(records: RecordInput[], bytes: number, limit: number): RecordInput[][] {
  if (RECORD_BATCH_OVERHEAD + bytes <= limit) return [records];
  const chunks: RecordInput[][] = [];
  let current: RecordInput[] = [];
  let size = RECORD_BATCH_OVERHEAD;
  for (const record of records) {
    const bytes = maxRecordBytes(record);
    if (current.length > 0 && size + bytes > limit) {
      chunks.push(current);
      current = [];
      size = RECORD_BATCH_OVERHEAD;
    }
    current.push(record);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function mergeTopics(topicMessages: readonly TopicMessages[]): TopicMessages[] {
  const merged = new Map<string, Message[]>();
  for (const tm of topicMessages) {
    const topic: unknown = tm.topic;
    if (typeof topic !== 'string' || topic.length === 0) throw new OnelogError('INVALID_TOPIC_NAME', `Invalid topic ${JSON.stringify(topic)}: every topicMessages entry needs a topic name.`);
    const messages: unknown = tm.messages;
    if (!Array.isArray(messages)) throw new OnelogError('INVALID_ARGUMENT', `Invalid messages for topic "${topic}": expected an array of messages.`, { topic });
    for (const m of messages as unknown[]) {
      if (typeof m !== 'object' || m === null || (m as { value?: unknown }).value === undefined) {
        throw new OnelogError('INVALID_ARGUMENT', `Invalid message without value for topic "${topic}": ${JSON.stringify(m)}.`, { topic });
      }
    }
    const list = merged.get(topic);
    // A topic's first entry is used as it is; a copy is made only when a second entry joins it.
    if (list === undefined) merged.set(topic, tm.messages);
    else merged.set(topic, [...list, ...tm.messages]);
  }
  return [...merged].map(([topic, messages]) => ({ topic, messages }));
}

export class Producer {
  readonly events: typeof PRODUCER_EVENTS = PRODUCER_EVENTS;
  readonly #emitter = new EventEmitter();
  readonly #engine: Engine;
  readonly #numPartitions: number;
  readonly #choosePartition: PartitionChooser;
  readonly #idempotent: boolean;
  readonly #allowAutoTopicCreation: boolean;
  readonly #retry: RetryOptions;
  #identity: Promise<Identity> | null = null;
  /** Partition metadata handed to the partitioner, per topic, rebuilt when the partition count changes. */
  readonly #metadata = new Map<string, PartitionMetadata[]>();
  /** Auto-creations in progress, so concurrent sends to a new topic create it once. */
  readonly #creating = new Map<string, Promise<void>>();
  #extentSize = 0;
  /** acks=0 appends not yet settled, awaited by disconnect. */
  readonly #unacknowledged = new Set<Promise<unknown>>();
  /** The first failure of an acks=0 append, thrown by the next send, sendBatch or disconnect. */
  #deferred: { readonly error: unknown } | null = null;

  /** `numPartitions`: partitions of a topic created on send (the database's default, 1 unless set). */
  constructor(engine: Engine, config: ProducerConfig = {}, numPartitions = 1) {
    this.#engine = engine;
    this.#numPartitions = numPartitions;
    this.#choosePartition = partitionChooser(config.createPartitioner);
    this.#idempotent = config.idempotent === true;
    this.#allowAutoTopicCreation = config.allowAutoTopicCreation ?? true;
    this.#retry = config.retry ?? {};
  }

  /** Listens to producer.connect / producer.disconnect; returns a function that removes the listener. */
  on(eventName: ProducerEventName, listener: (event: InstrumentationEvent<null>) => void): () => void {
    if (!Object.values(PRODUCER_EVENTS).includes(eventName)) {
      throw new OnelogError('INVALID_ARGUMENT', `Unknown producer event ${JSON.stringify(eventName)}: only producer.events.CONNECT and DISCONNECT exist (there is no network).`);
    }
    this.#emitter.on(eventName, listener);
    return () => {
      this.#emitter.off(eventName, listener);
    };
  }

  #emit(type: ProducerEventName): void {
    const event: InstrumentationEvent<null> = { id: randomUUID(), type, timestamp: Date.now(), payload: null };
    this.#emitter.emit(type, event);
  }

  /**
   * Nothing to connect to (sending works without it); allocates the producerId of an idempotent producer,
   * as kafkajs does here, and emits producer.connect.
   */
  async connect(): Promise<void> {
    if (this.#idempotent) await this.#currentIdentity();
    this.#emit(PRODUCER_EVENTS.CONNECT);
  }

  /** Waits for acks=0 sends to settle, emits producer.disconnect and throws the first failure among them. */
  async disconnect(): Promise<void> {
    await Promise.allSettled([...this.#unacknowledged]);
    this.#emit(PRODUCER_EVENTS.DISCONNECT);
    this.#throwDeferred();
  }

  isIdempotent(): boolean {
    return this.#idempotent;
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    const { topic, messages, acks, timeout, compression } = record;
    return this.sendBatch({ acks, timeout, compression, topicMessages: [{ topic, messages }] });
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.#throwDeferred();
    const acks = batch.acks ?? -1;
    if (acks !== -1 && acks !== 0 && acks !== 1) throw new OnelogError('INVALID_ARGUMENT', `acks must be -1, 0 or 1, got ${JSON.stringify(acks)}.`);
    if (this.#idempotent && acks !== -1) {
      throw new OnelogError('INVALID_ARGUMENT', `An idempotent producer needs acks -1 (all), got ${String(acks)}: not requiring acknowledgement would void its exactly-once guarantee.`);
    }
    const compression = compressionOf(batch.compression);
    const topics = mergeTopics(batch.topicMessages ?? []);
    const now = Date.now();

    // Resolve every topic and partition (creating topics if allowed) before anything is written.
    const plans: { topic: string; byPartition: PartitionRecords[]; limit: number }[] = [];
    for (const { topic, messages } of topics) {
      const info = await this.#topic(topic);
      const partitions = info.partitions;
      const partitionMetadata = this.#partitionMetadata(topic, partitions);
      // Indexed by partition, so the writes come out in partition order.
      const byPartition: PartitionRecords[] = [];
      // Runs of messages to one partition (a whole send, often) look their partition up once.
      let lastPartition = -1;
      let target: PartitionRecords | undefined;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i]!;
        // Converting first checks the key, value, headers and timestamp before a partitioner sees them.
        const input = toRecordInput(message, now);
        const partition = this.#choosePartition(topic, partitionMetadata, message);
        if (partition !== lastPartition || target === undefined) {
          if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
            throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} has partitions 0 to ${partitions - 1}; a message was sent to partition ${String(partition)}.`, { topic, partition });
          }
          target = byPartition[partition] ??= { records: [], bytes: 0 };
          lastPartition = partition;
        }
        target.records.push(input);
        target.bytes += maxRecordBytes(input);
      }
      plans.push({ topic, byPartition, limit: Math.min(Number(topicConfig(info.configs, 'max.message.bytes')), this.#extent()) });
    }
    const identity = this.#idempotent ? await this.#currentIdentity() : null;

    // From here to the end of the loop nothing awaits: sequences are taken in the order the engine queues.
    const writes: PartitionWrite[] = [];
    for (const { topic, byPartition, limit } of plans) {
      byPartition.forEach(({ records, bytes }, partition) => {
        const appends = chunk(records, bytes, limit).map((c) => this.#append(topic, partition, c, compression, identity === null ? null : this.#stamp(identity, topic, partition, c.length)));
        writes.push({ topic, partition, appends });
      });
    }

    if (acks === 0) {
      for (const w of writes) for (const a of w.appends) this.#trackUnacknowledged(a);
      return [];
    }
    return Promise.all(
      writes.map(async (w): Promise<RecordMetadata> => {
        const results = await Promise.all(w.appends);
        const first = results[0]!;
        return {
          topicName: w.topic,
          partition: w.partition,
          errorCode: 0,
          baseOffset: String(first.baseOffset),
          logAppendTime: String(first.logAppendTime),
          logStartOffset: String(results[results.length - 1]!.logStartOffset),
        };
      }),
    );
  }

  #throwDeferred(): void {
    const deferred = this.#deferred;
    if (deferred === null) return;
    this.#deferred = null;
    throw deferred.error;
  }

  #trackUnacknowledged(append: Promise<AppendResult>): void {
    const tracked: Promise<unknown> = append.then(
      () => this.#unacknowledged.delete(tracked),
      (err: unknown) => {
        this.#unacknowledged.delete(tracked);
        this.#deferred ??= { error: err };
      },
    );
    this.#unacknowledged.add(tracked);
  }

  #partitionMetadata(topic: string, count: number): PartitionMetadata[] {
    let metadata = this.#metadata.get(topic);
    if (metadata?.length !== count) {
      metadata = partitionMetadataOf(count);
      this.#metadata.set(topic, metadata);
    }
    return metadata;
  }

  #extent(): number {
    if (this.#extentSize === 0) this.#extentSize = this.#engine.stats().extentSize;
    return this.#extentSize;
  }

  /** The topic's partition count and configs, creating it first when missing and allowed. */
  async #topic(topic: string): Promise<TopicInfo> {
    for (;;) {
      const info = this.#engine.describeTopic(topic);
      if (info !== undefined) return info;
      if (!this.#allowAutoTopicCreation) {
        throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} does not exist: create it (admin.createTopics) or allow auto-creation (allowAutoTopicCreation).`, { topic });
      }
      let creating = this.#creating.get(topic);
      if (creating === undefined) {
        creating = this.#create(topic);
        this.#creating.set(topic, creating);
      }
      await creating;
    }
  }

  async #create(topic: string): Promise<void> {
    try {
      await this.#engine.createTopic(topic, { partitions: this.#numPartitions });
    } catch (err) {
      // Another process or producer created it first: use theirs.
      if (err instanceof OnelogError && err.code === 'TOPIC_EXISTS') return;
      throw err;
    } finally {
      this.#creating.delete(topic);
    }
  }

  /** The producer's identity, allocating one when it has none (or the last allocation failed). */
  #currentIdentity(): Promise<Identity> {
    if (this.#identity !== null) return this.#identity;
    const next = this.#engine.allocateProducerId().then((producerId): Identity => ({ producerId, producerEpoch: 0, sequences: new Map() }));
    this.#identity = next;
    // A failed allocation is reported to whoever awaits it; the next call allocates again.
    next.catch(() => {
      if (this.#identity === next) this.#identity = null;
    });
    return next;
  }

  /** The identity now in force, or null when there is none (yet, or its allocation failed). */
  async #settledIdentity(): Promise<Identity | null> {
    return this.#identity === null ? null : this.#identity.catch(() => null);
  }

  #stamp(identity: Identity, topic: string, partition: number, count: number): Stamp {
    const key = `${topic}\u0000${String(partition)}`;
    const baseSequence = identity.sequences.get(key) ?? 0;
    identity.sequences.set(key, (baseSequence + count) % SEQUENCE_MODULUS);
    return { identity, baseSequence };
  }

  /**
   * Appends one batch, retrying retriable failures with kafkajs' backoff. An idempotent batch keeps its
   * sequence across retries; when a batch fails for good its partition's sequence has a gap, so the
   * producer takes a new producerId, and batches still stamped with the old one are stamped afresh.
   */
  async #append(topic: string, partition: number, records: RecordInput[], compression: CompressionType, initial: Stamp | null): Promise<AppendResult> {
    let stamp = initial;
    const retries = this.#retry.retries ?? 5;
    for (let attempt = 0; ; ) {
      try {
        if (stamp === null) return await this.#engine.append(topic, partition, records, { compression });
        return await this.#engine.append(topic, partition, records, {
          compression,
          producerId: stamp.identity.producerId,
          producerEpoch: stamp.identity.producerEpoch,
          baseSequence: stamp.baseSequence,
        });
      } catch (err) {
        if (!(err instanceof OnelogError)) throw err;
        if (stamp !== null) {
          const current = await this.#settledIdentity();
          if (current !== null && current !== stamp.identity && err.code === 'OUT_OF_ORDER_SEQUENCE') {
            stamp = this.#stamp(current, topic, partition, records.length);
            continue;
          }
        }
        if (err.retriable && attempt < retries) {
          await sleep(retryDelay(this.#retry, attempt++));
          if (stamp !== null) {
            const current = await this.#currentIdentity();
            if (current !== stamp.identity) stamp = this.#stamp(current, topic, partition, records.length);
          }
          continue;
        }
        if (stamp !== null && (await this.#settledIdentity()) === stamp.identity) {
          // The partition's sequence now has a gap: continue under a new producerId, allocated on next use.
          this.#identity = null;
        }
        throw err;
      }
    }
  }
}
