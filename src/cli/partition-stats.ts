// Per-partition facts shown by `info` and `topics`: offsets, record count, bytes stored and the
// oldest/newest timestamps, read from the extent map and at most two batches. Read-only; no output.
import { decodeRecords, readBatchHeader } from '../format/record-batch.ts';
import type { DatabaseLayout, Engine, PartitionLayout } from '../storage/engine.ts';
import { partitionDataBytes } from '../storage/verify.ts';

export interface PartitionStats {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly records: number;
  readonly bytes: number;
  /** ms since the epoch; -1 when the partition holds no records. */
  readonly oldestTimestamp: number;
  readonly newestTimestamp: number;
}

export function partitionStats(engine: Engine, layout: DatabaseLayout, p: PartitionLayout): PartitionStats {
  const records = p.nextOffset - p.logStartOffset;
  let oldest = -1;
  let newest = -1;
  if (records > 0) {
    const first = engine.read(p.topic, p.partition, p.logStartOffset, { maxBytes: 1 }).records;
    const header = readBatchHeader(first, 0);
    oldest = header.timestampType === 'log-append' ? header.maxTimestamp : (decodeRecords(first, 0).find((r) => r.offset >= p.logStartOffset)?.timestamp ?? header.baseTimestamp);
    const last = engine.read(p.topic, p.partition, p.nextOffset - 1, { maxBytes: 1 }).records;
    newest = Math.max(readBatchHeader(last, 0).maxTimestamp, ...p.extents.map((e) => e[2]));
  }
  return {
    topic: p.topic,
    partition: p.partition,
    logStartOffset: p.logStartOffset,
    highWatermark: p.nextOffset,
    records,
    bytes: partitionDataBytes(layout, p),
    oldestTimestamp: oldest,
    newestTimestamp: newest,
  };
}

/** Stats of every partition of `topic` (all topics when undefined), in topic and partition order. */
export function allPartitionStats(engine: Engine, topic?: string): PartitionStats[] {
  const layout = engine.layout();
  return layout.partitions.filter((p) => topic === undefined || p.topic === topic).map((p) => partitionStats(engine, layout, p));
}

/** Partition stats summed for one topic (or, with every partition, the whole file). */
export interface TopicSummary {
  readonly name: string;
  readonly partitions: number;
  readonly records: number;
  readonly bytes: number;
  readonly oldestTimestamp: number;
  readonly newestTimestamp: number;
}

export function summarize(name: string, stats: readonly PartitionStats[]): TopicSummary {
  const oldest = stats.map((s) => s.oldestTimestamp).filter((t) => t >= 0);
  return {
    name,
    partitions: stats.length,
    records: stats.reduce((n, s) => n + s.records, 0),
    bytes: stats.reduce((n, s) => n + s.bytes, 0),
    oldestTimestamp: oldest.length === 0 ? -1 : Math.min(...oldest),
    newestTimestamp: stats.reduce((n, s) => Math.max(n, s.newestTimestamp), -1),
  };
}
