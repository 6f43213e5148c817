// Shared data of the third-party client interop tests: the records each test produces (keyed, with
// headers and distinct timestamps, per compression codec) and a reader of what the file then holds,
// through the embedded engine, so every client's writes are checked against the stored bytes.
import type { Engine } from '../../../src/storage/engine.ts';
import { COMPRESSION_TYPES, type CompressionType } from '../../../src/format/compression.ts';
import { decodeRecords, readBatchHeader, batchTotalSize } from '../../../src/format/record-batch.ts';

export const RECORDS_PER_CODEC = 10_000;
export const PARTITIONS = 3;
export const CODECS: readonly CompressionType[] = COMPRESSION_TYPES;

export interface InteropRecord {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

/** Record i of a run: its timestamp is base + i, so offsets by timestamp are predictable. */
export function interopRecord(client: string, codec: CompressionType, i: number, base: number): InteropRecord {
  return {
    key: `key-${String(i).padStart(5, '0')}`,
    value: `${client} ${codec} value ${String(i)} ${'x'.repeat(i % 50)}`,
    headers: { index: String(i), client },
    timestamp: base + i,
  };
}

export interface StoredRecord extends InteropRecord {
  readonly partition: number;
  readonly offset: number;
  /** Codec of the batch holding the record. */
  readonly compression: CompressionType;
}

/** Every record of the topic as the file holds it, partition by partition in offset order. */
export function storedRecords(engine: Engine, topic: string): StoredRecord[] {
  const out: StoredRecord[] = [];
  const info = engine.describeTopic(topic);
  if (info === undefined) throw new Error(`no topic ${topic}`);
  for (let partition = 0; partition < info.partitions; partition++) {
    let offset = engine.logStartOffset(topic, partition);
    for (;;) {
      const { records, nextOffset } = engine.read(topic, partition, offset, { maxBytes: 4 << 20 });
      if (records.length === 0) break;
      for (let pos = 0; pos < records.length; pos += batchTotalSize(records, pos)) {
        const header = readBatchHeader(records, pos);
        for (const r of decodeRecords(records, pos)) {
          if (r.offset < offset) continue;
          out.push({
            partition,
            offset: r.offset,
            compression: header.compression,
            key: r.key?.toString() ?? '',
            value: r.value?.toString() ?? '',
            headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value?.toString() ?? ''])),
            timestamp: r.timestamp,
          });
        }
      }
      offset = nextOffset;
    }
  }
  return out;
}

/** Records sorted by key, for comparisons that do not care how they were spread. */
export function byKey<T extends { readonly key: string }>(records: readonly T[]): T[] {
  return [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface PlacedRecord extends InteropRecord {
  readonly partition: number;
}

/** What a client sent and where it landed, without its offset or batch codec. */
export function placed(r: PlacedRecord): PlacedRecord {
  return { partition: r.partition, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp };
}

/** A record as a consumer sees it: placed, with its offset. */
export function positioned(r: PlacedRecord & { readonly offset: number }): PlacedRecord & { readonly offset: number } {
  return { ...placed(r), offset: r.offset };
}
