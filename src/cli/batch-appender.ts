// Turns a stream of records into large appends for `produce` and `import`: records are gathered per
// partition into batches (by count and bytes, under the topic's max.message.bytes), and a few appends are
// kept in flight so the engine's group commit shares fdatasyncs. Appends to one partition stay in order
// (the engine queues them first in, first out). It reads no input and chooses no partitions.
import { maxRecordBytes, RECORD_BATCH_OVERHEAD, type RecordInput } from '../format/record-batch.ts';
import type { AppendResult, Engine } from '../storage/engine.ts';
import { topicConfig } from '../storage/topic-rules.ts';

/** Records in one append at most. */
export const BATCH_RECORDS = 5000;
const MAX_IN_FLIGHT = 8;

interface Pending {
  readonly topic: string;
  readonly partition: number;
  records: RecordInput[];
  bytes: number;
}

export type OnAppended = (topic: string, partition: number, result: AppendResult, count: number) => void;

export class BatchAppender {
  readonly #engine: Engine;
  readonly #onAppended: OnAppended;
  readonly #pending = new Map<string, Pending>();
  readonly #limits = new Map<string, number>();
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | null = null;
  #appended = 0;

  constructor(engine: Engine, onAppended: OnAppended) {
    this.#engine = engine;
    this.#onAppended = onAppended;
  }

  /** Records acknowledged so far. */
  get appended(): number {
    return this.#appended;
  }

  /** The byte budget of one batch to `topic` (its max.message.bytes, capped at the extent size). */
  #limit(topic: string): number {
    let limit = this.#limits.get(topic);
    if (limit === undefined) {
      const configs = this.#engine.describeTopic(topic)?.configs ?? {};
      limit = Math.min(Number(topicConfig(configs, 'max.message.bytes')), this.#engine.stats().extentSize, 1024 * 1024);
      this.#limits.set(topic, limit);
    }
    return limit;
  }

  /**
   * Adds a record. Returns a promise only when the record completed a batch and the append had to wait for
   * room in flight (the caller awaits it: backpressure); otherwise undefined, so a line costs no promise.
   */
  add(topic: string, partition: number, record: RecordInput): Promise<void> | undefined {
    this.#throwFailure();
    const id = `${String(partition)}\u0000${topic}`;
    let p = this.#pending.get(id);
    if (p === undefined) {
      p = { topic, partition, records: [], bytes: RECORD_BATCH_OVERHEAD };
      this.#pending.set(id, p);
    }
    const size = maxRecordBytes(record);
    if (p.records.length > 0 && p.bytes + size > this.#limit(topic)) {
      const target = p;
      return this.#send(target).then(() => this.add(topic, partition, record));
    }
    p.records.push(record);
    p.bytes += size;
    return p.records.length >= BATCH_RECORDS ? this.#send(p) : undefined;
  }

  async #send(p: Pending): Promise<void> {
    const records = p.records;
    p.records = [];
    p.bytes = RECORD_BATCH_OVERHEAD;
    const append = this.#engine.append(p.topic, p.partition, records).then(
      (result) => {
        this.#appended += records.length;
        this.#onAppended(p.topic, p.partition, result, records.length);
      },
      (err: unknown) => {
        this.#failure ??= { error: err };
      },
    );
    const tracked: Promise<void> = append.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
    while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
    this.#throwFailure();
  }

  /** Appends every gathered record and waits for all appends; throws the first failure. */
  async finish(): Promise<void> {
    for (const p of this.#pending.values()) if (p.records.length > 0) await this.#send(p);
    await Promise.all(this.#inFlight);
    this.#throwFailure();
  }

  #throwFailure(): void {
    if (this.#failure !== null) throw this.#failure.error;
  }
}
