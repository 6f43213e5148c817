// The entry point of the embedded client: open(path) gives a Database, which plays the part of kafkajs'
// Kafka object (producer(), consumer(), admin()) over one file, and close() ends everything it made and
// then the engine. It holds no records and no protocol logic: the clients it hands out do the work.

import { OnelogError } from '../errors.ts';
import { Engine, type EngineOptions } from '../storage/engine.ts';
import { MAX_PARTITIONS_PER_TOPIC } from '../storage/topic-rules.ts';
import { Admin, type AdminConfig } from './admin.ts';
import { Consumer, type ConsumerConfig } from './consumer.ts';
import { Producer, type ProducerConfig } from './producer.ts';

export interface OpenOptions extends EngineOptions {
  /**
   * Partitions of a topic created by a producer's send (allowAutoTopicCreation) or by createTopics
   * without numPartitions: the broker's num.partitions in Kafka. Default 1.
   */
  readonly numPartitions?: number;
}

function checkNumPartitions(value: number | undefined): number {
  const numPartitions = value ?? 1;
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > MAX_PARTITIONS_PER_TOPIC) {
    throw new OnelogError('INVALID_ARGUMENT', `numPartitions must be an integer from 1 to ${MAX_PARTITIONS_PER_TOPIC}, got ${String(numPartitions)}.`);
  }
  return numPartitions;
}

export class Database {
  readonly engine: Engine;
  readonly #numPartitions: number;
  readonly #producers = new Set<Producer>();
  readonly #consumers = new Set<Consumer>();
  #closing: Promise<void> | null = null;

  constructor(engine: Engine, options: { readonly numPartitions?: number } = {}) {
    this.engine = engine;
    this.#numPartitions = checkNumPartitions(options.numPartitions);
  }

  /** Partitions of a topic created without a count (the broker's num.partitions in Kafka). */
  get numPartitions(): number {
    return this.#numPartitions;
  }

  /** A kafkajs-shaped producer writing to this file; Database.close() disconnects it. */
  producer(config: ProducerConfig = {}): Producer {
    this.#checkOpen();
    const producer = new Producer(this.engine, config, this.#numPartitions);
    this.#producers.add(producer);
    return producer;
  }

  /** A kafkajs-shaped group consumer reading this file; Database.close() disconnects it. */
  consumer(config: ConsumerConfig): Consumer {
    this.#checkOpen();
    const consumer = new Consumer(this.engine, config);
    this.#consumers.add(consumer);
    return consumer;
  }

  /** A kafkajs-shaped admin client for this file. */
  admin(config: AdminConfig = {}): Admin {
    this.#checkOpen();
    return new Admin(this.engine, this.#numPartitions, config);
  }

  /**
   * Disconnects every consumer this database made (leaving their groups, committing as they do on
   * disconnect) and every producer (waiting for their acks=0 sends), then closes the engine (final
   * checkpoint). Resolves once the file is closed; a client's failure to disconnect is thrown after that.
   * Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const consumers = await Promise.allSettled([...this.#consumers].map((c) => c.disconnect()));
    const producers = await Promise.allSettled([...this.#producers].map((p) => p.disconnect()));
    const results = [...consumers, ...producers];
    this.#consumers.clear();
    this.#producers.clear();
    await this.engine.close();
    for (const r of results) {
      if (r.status === 'rejected') {
        const reason: unknown = r.reason;
        throw reason;
      }
    }
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw new OnelogError('CLOSED', `The database ${this.engine.path} is closed: open it again to make new clients.`);
  }
}

/** Opens (by default creating) a onelog file and returns the Database to make clients from. */
export async function open(path: string, options: OpenOptions = {}): Promise<Database> {
  const { numPartitions, ...engineOptions } = options;
  const checked = checkNumPartitions(numPartitions);
  return new Database(await Engine.open(path, engineOptions), { numPartitions: checked });
}
