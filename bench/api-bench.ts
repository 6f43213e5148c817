// The system under test "onelog-api": the same records as the raw engine bench, but through the
// kafkajs-shaped client API (producer.send in batches of 1000, a group consumer with eachMessage and one
// with eachBatch), and the latency of a single-record send under sync 'batch' beside one plain fdatasync
// of 100 bytes on the same disk. It drives the public client API only and never reaches into the engine.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { open } from '../src/client/database.ts';
import type { Batch } from '../src/client/consumer-types.ts';
import type { KafkaMessage, Message } from '../src/client/types.ts';
import { BASE_TIMESTAMP, KEY_BYTES, measure, ReadTally, RECORD_BYTES, recordCount, withTempDir, type RssTracker, type Sample } from './measure.ts';

export const API_TOPIC = 'bench-api';
const GROUP_ID = 'bench-api-readers';

export type ApiSync = 'none' | 'batch';

export interface ApiShape {
  readonly sync: ApiSync;
  readonly batchSize: number;
  readonly partitions: number;
}

/** How the group consumer takes its messages: one awaited handler call per message, or per batch. */
export type ApiHandler = 'eachMessage' | 'eachBatch';
export const API_HANDLERS: readonly ApiHandler[] = ['eachMessage', 'eachBatch'];

export interface ApiResult {
  readonly produce: Sample;
  /**
   * Present when asked for: a group consumer reading the whole topic from a reopened database, once per
   * handler style (each a new group, so each reads from the beginning).
   */
  readonly consume: Readonly<Record<ApiHandler, Sample>> | undefined;
}

/** Latency percentiles of one operation, in microseconds. */
export interface LatencyResult {
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/**
 * Records `start` … `start + count - 1` of the payload as kafkajs messages for send b, made as they are sent
 * and straight from the payload, one object per record (as the raw engine's batches are made): the same key
 * and value views and numeric timestamp as recordAt, and an explicit partition b mod `partitions`.
 */
function messagesAt(payload: Buffer, start: number, count: number, partition: number): Message[] {
  const messages = new Array<Message>(count);
  for (let j = 0; j < count; j++) {
    const at = (start + j) * RECORD_BYTES;
    messages[j] = {
      key: payload.subarray(at, at + KEY_BYTES),
      value: payload.subarray(at + KEY_BYTES, at + RECORD_BYTES),
      timestamp: BASE_TIMESTAMP + start + j,
      partition,
    };
  }
  return messages;
}

/**
 * Sends the payload in sends of `shape.batchSize` with one producer awaiting each send, into a fresh file under `shape`; then (when
 * `expected` is given) reopens the file and reads the topic with a group consumer with eachMessage and
 * then with another group with eachBatch, checking what each read against `expected`. Files are deleted afterwards.
 */
export async function apiRun(payload: Buffer, shape: ApiShape, expected: ReadTally | undefined): Promise<ApiResult> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'bench-api.onelog');
    const db = await open(file, { sync: shape.sync });
    let produced: Sample;
    try {
      // Kept forever: the payload's timestamps (from BASE_TIMESTAMP) are older than the default retention.ms.
      await db.admin().createTopics({ topics: [{ topic: API_TOPIC, numPartitions: shape.partitions, configEntries: [{ name: 'retention.ms', value: '-1' }] }] });
      const producer = db.producer();
      await producer.connect();
      produced = await measure(async (rss) => {
        const total = recordCount(payload);
        for (let start = 0, b = 0; start < total; start += shape.batchSize, b++) {
          await producer.send({ topic: API_TOPIC, messages: messagesAt(payload, start, Math.min(shape.batchSize, total - start), b % shape.partitions) });
          rss.sample();
        }
      });
      await producer.disconnect();
    } finally {
      await db.close();
    }
    if (expected === undefined) return { produce: produced, consume: undefined };

    const reader = await open(file, { sync: shape.sync, create: false });
    try {
      const consume = async (handler: ApiHandler): Promise<Sample> => {
        const tally = new ReadTally();
        const consumed = await measure((rss) => consumeAll(reader.consumer({ groupId: `${GROUP_ID}-${handler}` }), handler, expected.records, tally, rss));
        tally.expectSame(expected, `onelog-api consume with ${handler} (${shape.partitions} partitions)`);
        return consumed;
      };
      const eachMessage = await consume('eachMessage');
      const eachBatch = await consume('eachBatch');
      return { produce: produced, consume: { eachMessage, eachBatch } };
    } finally {
      await reader.close();
    }
  });
}

type BenchConsumer = ReturnType<Awaited<ReturnType<typeof open>>['consumer']>;

/** How many consumed messages make one RSS sample (the batch size of the sends). */
const RSS_SAMPLE_MESSAGES = 1000;

/**
 * Runs `consumer` from the beginning with `handler` (default autoCommit) until `count` messages were read,
 * then stops it.
 */
async function consumeAll(consumer: BenchConsumer, handler: ApiHandler, count: number, tally: ReadTally, rss: RssTracker): Promise<void> {
  await consumer.subscribe({ topics: [API_TOPIC], fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const config =
      handler === 'eachMessage'
        ? {
            eachMessage: ({ message }: { readonly message: KafkaMessage }): Promise<void> => {
              tally.add(message.key, message.value);
              // Once per send's worth of messages, as the raw engine's loop samples once per read: reading RSS
              // costs microseconds, which sampling per message would add to every handler call.
              if (tally.records % RSS_SAMPLE_MESSAGES === 0) rss.sample();
              if (tally.records === count) resolve();
              return Promise.resolve();
            },
          }
        : {
            eachBatch: ({ batch }: { readonly batch: Batch }): Promise<void> => {
              for (const message of batch.messages) tally.add(message.key, message.value);
              // Once per batch, as the raw engine's loop samples once per read.
              rss.sample();
              if (tally.records === count) resolve();
              return Promise.resolve();
            },
          };
    consumer.run(config).catch(reject);
  });
  await consumer.disconnect();
}

function percentiles(samplesMs: number[]): LatencyResult {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000;
  return { samples: sorted.length, p50Us: at(0.5), p99Us: at(0.99) };
}

/**
 * `count` single-record sends, one at a time, each awaited until durable under sync 'batch'; with
 * `groupCommitWindowMs` set, the database opens with that group-commit window instead of the default.
 */
export async function sendLatency(count: number, value: Buffer, groupCommitWindowMs?: number): Promise<LatencyResult> {
  return withTempDir(async (dir) => {
    const db = await open(path.join(dir, 'latency.onelog'), groupCommitWindowMs === undefined ? { sync: 'batch' } : { sync: 'batch', groupCommitWindowMs });
    try {
      const producer = db.producer();
      await producer.send({ topic: API_TOPIC, messages: [{ value }] });
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await producer.send({ topic: API_TOPIC, messages: [{ value }] });
        samples.push(performance.now() - start);
      }
      return percentiles(samples);
    } finally {
      await db.close();
    }
  });
}

/** `count` plain writes of `value` (appended) each followed by fs.fdatasyncSync, in a temp file. */
export async function fdatasyncLatency(count: number, value: Buffer): Promise<LatencyResult> {
  return withTempDir((dir) => {
    const fd = fs.openSync(path.join(dir, 'fdatasync.bin'), 'w');
    try {
      fs.writeSync(fd, value);
      fs.fdatasyncSync(fd);
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        fs.writeSync(fd, value);
        fs.fdatasyncSync(fd);
        samples.push(performance.now() - start);
      }
      return percentiles(samples);
    } finally {
      fs.closeSync(fd);
    }
  });
}
