// What the maintenance crash loop's child writer (maintenance-writer.ts) and its checking parent
// (maintenance-crash.test.ts) share: topic names and configs, and the deterministic keyed records of the
// compacted topic, derived from (run, producer, sequence) so that the parent can recompute every key and
// value it must find. Pure values and functions only: no I/O, no engine calls.

import { CRASH_EXTENT_SIZE, CRASH_TOPIC_CONFIGS, formatBatchId, parseBatchId, type BatchId } from './crash-records.ts';

/** The delete topic's extents are sealed when half full, so that retention finds more of them to free. */
const SEGMENT_BYTES = CRASH_EXTENT_SIZE / 2;

/** Compacted topic: keyed records from a small key set, tombstones dropped soon after delete.retention.ms. */
export const COMPACT_TOPIC = 'c';
const COMPACT_KEYS = 12;
export const COMPACT_PRODUCERS = 4;
export const COMPACT_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'delete.retention.ms': '50',
  'min.compaction.lag.ms': '0',
  'max.message.bytes': String(CRASH_EXTENT_SIZE),
};

/** Delete topic: crash-records batches (crashBatch picks one of CRASH_PARTITIONS), retention by size. */
export const DELETE_TOPIC = 'd';
export const DELETE_PRODUCERS = 6;
/** Extents a partition of the delete topic keeps under retention.bytes. */
export const RETENTION_EXTENTS = 3;
export const DELETE_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  ...CRASH_TOPIC_CONFIGS,
  'retention.bytes': String(RETENTION_EXTENTS * CRASH_EXTENT_SIZE),
  'segment.bytes': String(SEGMENT_BYTES),
};

/** Topic that keeps everything: crash-records batches appended while vacuum runs; every acknowledged one must stay. */
export const KEEP_TOPIC = 'keep';
/** The producer id of the batches appended to KEEP_TOPIC (after the delete topic's producers). */
export const KEEP_PRODUCER = DELETE_PRODUCERS;

/** Scratch topics are created, filled and deleted, so that vacuum finds free extents below used ones. */
export const SCRATCH_PREFIX = 'scratch-';

export interface KeyedRecord {
  /** `<run>.<producer>.<seq>/<index in the batch>`, carried in the record's crash-records ID_HEADER header. */
  readonly id: string;
  readonly key: string;
  /** null: a tombstone. */
  readonly value: string | null;
}

/**
 * The records producer `producer` appends to the compacted topic as its `seq`-th append of run `run`: one to
 * four records of the shared keys (now and then a tombstone), and every third append one record more: a
 * value for a key of its own, or the tombstone that deletes the key it wrote three appends before (that key
 * is never written again, so compaction may drop both, and its value must not come back alone).
 */
export function keyedBatch(id: BatchId): KeyedRecord[] {
  const count = 1 + ((id.seq + id.producer) % 4);
  const records: KeyedRecord[] = [];
  const add = (key: string, tombstone: boolean): void => {
    const i = records.length;
    const name = `${formatBatchId(id)}/${String(i)}`;
    records.push({ id: name, key, value: tombstone ? null : `${name}/${'x'.repeat(200 + ((id.seq * 53 + id.producer * 29 + i * 17) % 1000))}` });
  };
  for (let i = 0; i < count; i++) add(`k${String((id.seq * 7 + id.producer * 3 + i * 5) % COMPACT_KEYS)}`, (id.seq * 31 + id.producer * 7 + i) % 13 === 0);
  if (id.seq % 6 === 0) add(`once-${String(id.run)}-${String(id.producer)}-${String(id.seq)}`, false);
  if (id.seq % 6 === 3) add(`once-${String(id.run)}-${String(id.producer)}-${String(id.seq - 3)}`, true);
  return records;
}

/** The record a keyed-record id names, or null when the id is malformed. */
export function keyedRecordById(text: string): KeyedRecord | null {
  const id = parseBatchId(text.split('/')[0]!);
  if (id === null) return null;
  return keyedBatch(id).find((r) => r.id === text) ?? null;
}
