// Deterministic batches for the crash loops (crash-loop.test.ts, maintenance-crash.test.ts): the child
// writer and the checking parent both derive the exact records of an append (partition, keys, values,
// headers, timestamps) from (run, producer, sequence), so the parent can recompute every byte it must find
// in the file. Pure functions only: no I/O, no engine calls.

import type { EngineOptions } from '../../../src/storage/engine.ts';
import type { RecordHeader, RecordInput } from '../../../src/format/record-batch.ts';

export const CRASH_TOPIC = 't';
export const CRASH_PARTITIONS = 4;
/** Concurrent producer loops in the child; the parent's own appends use producer id CRASH_PRODUCERS. */
export const CRASH_PRODUCERS = 16;
export const PARENT_PRODUCER = CRASH_PRODUCERS;
/** Small extents make the crashes land on extent allocations and checkpoints too. */
export const CRASH_EXTENT_SIZE = 64 * 1024;
export const CRASH_ENGINE_OPTIONS: EngineOptions = { sync: 'batch', busyTimeoutMs: 10_000, extentSize: CRASH_EXTENT_SIZE };
/** The batches carry 2026 timestamps: infinite retention.ms keeps the default 7 days from deleting them. */
export const CRASH_TOPIC_CONFIGS: Readonly<Record<string, string>> = { 'max.message.bytes': String(CRASH_EXTENT_SIZE), 'retention.ms': '-1' };
/** The first record of every batch carries this header, naming the batch's (run, producer, sequence). */
export const ID_HEADER = 'crash-id';

const BASE_TIMESTAMP = 1_767_225_600_000;

export interface BatchId {
  readonly run: number;
  readonly producer: number;
  readonly seq: number;
}

export interface CrashBatch {
  readonly partition: number;
  readonly records: RecordInput[];
}

/** mulberry32, seeded from the batch id. */
function random(id: BatchId): () => number {
  let state = Math.imul(id.run + 1, 0x9e3779b1) ^ Math.imul(id.producer + 1, 0x85ebca6b) ^ Math.imul(id.seq + 1, 0xc2b2ae35);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function bytes(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (seed + i * 131 + (i >>> 5)) & 0xff;
  return buf;
}

/** Mostly small values, some of a few KiB, a few empty or null. */
function valueLength(r: number): number | null {
  const bucket = r % 100;
  if (bucket < 4) return null;
  if (bucket < 8) return 0;
  if (bucket < 70) return r % 120;
  if (bucket < 95) return 120 + (r % 900);
  return 1000 + (r % 3000);
}

export function formatBatchId(id: BatchId): string {
  return `${id.run}.${id.producer}.${id.seq}`;
}

export function parseBatchId(text: string): BatchId | null {
  const parts = text.split('.').map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
  return { run: parts[0]!, producer: parts[1]!, seq: parts[2]! };
}

/** The batch producer `producer` appends as its `seq`-th append of run `run`. */
export function crashBatch(id: BatchId): CrashBatch {
  const next = random(id);
  const partition = next() % CRASH_PARTITIONS;
  const count = 1 + (next() % 20);
  const firstTimestamp = BASE_TIMESTAMP + id.run * 1_000_000 + id.seq * 100;
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    const keyLength = r % 4 === 0 ? null : (r >>> 2) % 65;
    const length = valueLength(next());
    const headers: RecordHeader[] = [];
    if (i === 0) headers.push({ key: ID_HEADER, value: Buffer.from(formatBatchId(id)) });
    if (next() % 10 < 3) {
      const extra = 1 + (r % 3);
      for (let h = 0; h < extra; h++) headers.push({ key: `h${h}`, value: (r >>> h) % 5 === 0 ? null : bytes((r >>> (h * 3)) % 40, r + h) });
    }
    records.push({
      key: keyLength === null ? null : bytes(keyLength, r),
      value: length === null ? null : bytes(length, r >>> 8),
      headers,
      // Not monotonic within a batch: producers may send timestamps in any order.
      timestamp: firstTimestamp + (i === 0 ? 0 : (r % 2000) - 500),
    });
  }
  return { partition, records };
}
