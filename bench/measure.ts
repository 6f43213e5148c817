// Shared helpers of the benchmark: timing, RSS sampling, medians, temp dirs and deterministic record
// generation (16-byte keys, 100-byte values). It measures nothing itself and knows no system under test.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;
/** Payload bytes per record: what MB/s counts for every system, so they compare on the same bytes. */
export const RECORD_BYTES = KEY_BYTES + VALUE_BYTES;
/** Timestamp of record 0; record i has BASE_TIMESTAMP + i, so runs are reproducible. */
export const BASE_TIMESTAMP = 1_700_000_000_000;

/** Megabyte as printed everywhere in the output, for rates and RSS alike: 10^6 bytes. */
const MB = 1_000_000;

/** One line of the report, as printed with --json (snake_case keys) and rendered in the table. */
export interface ResultRow {
  readonly bench: 'produce' | 'consume' | 'large-produce' | 'large-consume';
  readonly system: 'onelog' | 'physical' | 'sqlite';
  /** Durability setting in force: onelog sync mode, physical fdatasync policy, or SQLite synchronous. */
  readonly mode: string;
  readonly producers: number;
  readonly partitions: number;
  /** Records per append / transaction / write unit; 0 where the system has no batches (physical). */
  readonly batch_size: number;
  readonly records: number;
  /** Rates are the median of this many runs. */
  readonly runs: number;
  readonly msgs_per_s: number;
  readonly mb_per_s: number;
  /** Peak sampled RSS during the measurement (the highest over the runs). */
  readonly rss_mb: number;
  /** Lifetime peak RSS of the measuring process (getrusage maxRSS) when the measurement ended. */
  readonly max_rss_mb?: number;
  /** onelog only: ratio to SQLite doing the same work (same payload, same durability class). */
  readonly vs_sqlite?: number;
  /** onelog batch mode only: MB/s divided by physical writes with fdatasync every 4 MiB. */
  readonly vs_physical_fdatasync?: number;
}

/** One timed measurement: elapsed seconds and the highest RSS sampled while it ran. */
export interface Sample {
  readonly seconds: number;
  readonly rssPeakBytes: number;
}

/**
 * Reading RSS is a system call (about 10 us here), so loops call sample() per batch and RSS is read at
 * most once per this many milliseconds: often enough to see a peak, rarely enough that a run of 10,000
 * small appends does not spend several percent of its time reading it.
 */
const SAMPLE_INTERVAL_MS = 1;

/** Samples process RSS from inside measured loops and keeps the highest value seen. */
export class RssTracker {
  #peak = process.memoryUsage.rss();
  #nextRead = performance.now() + SAMPLE_INTERVAL_MS;

  sample(): void {
    const now = performance.now();
    if (now < this.#nextRead) return;
    this.#nextRead = now + SAMPLE_INTERVAL_MS;
    this.#read();
  }

  get peakBytes(): number {
    this.#read();
    return this.#peak;
  }

  #read(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
  }
}

/** Times `work` and samples RSS before and after it; `work` receives the tracker to sample inside loops. */
export async function measure(work: (rss: RssTracker) => Promise<void> | void): Promise<Sample> {
  const rss = new RssTracker();
  const start = performance.now();
  await work(rss);
  const seconds = (performance.now() - start) / 1000;
  return { seconds, rssPeakBytes: rss.peakBytes };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Throughput of `records` records in `seconds`, with MB/s counting key+value bytes only. */
export function rates(records: number, seconds: number): { msgsPerS: number; mbPerS: number } {
  return { msgsPerS: records / seconds, mbPerS: (records * RECORD_BYTES) / MB / seconds };
}

export function toMb(bytes: number): number {
  return bytes / MB;
}

/** Lifetime peak RSS of this process as the OS reports it (maxRSS is in KiB). */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Temp dirs not yet deleted, removed on exit too, so an interrupted or crashed run leaves no files. */
const liveTempDirs = new Set<string>();

function removeLiveTempDirs(): void {
  for (const dir of liveTempDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveTempDirs.clear();
}

process.on('exit', removeLiveTempDirs);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.on(signal, () => process.exit(code));

/** Runs `work` inside a fresh directory under os.tmpdir() and deletes the directory afterwards. */
export async function withTempDir<T>(work: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-bench-'));
  liveTempDirs.add(dir);
  try {
    return await work(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    liveTempDirs.delete(dir);
  }
}

/** xorshift32: a fixed, fast pseudo-random sequence so every run writes the same bytes. */
function fillPseudoRandom(buffer: Buffer, seed: number): void {
  let x = seed >>> 0 || 1;
  const words = buffer.length >>> 2;
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buffer.writeUInt32LE(x, i << 2);
  }
  for (let i = words << 2; i < buffer.length; i++) buffer[i] = i & 0xff;
}

/**
 * Record `index`'s value as text: VALUE_BYTES printable characters, no tab or newline, for the benches
 * whose clients read records as lines (kcat, `onelog produce`).
 */
export function textValue(index: number): string {
  return `${String(index).padStart(12, '0')}${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3)}`.slice(0, VALUE_BYTES);
}

/** Writes the key of record `index` into `target` at `offset`: a fixed 8-byte prefix, then the index. */
export function writeKey(target: Buffer, offset: number, index: number): void {
  target.write('onelogbk', offset, 'latin1');
  target.writeBigUInt64BE(BigInt(index), offset + 8);
}

/**
 * All records of a run laid out back to back (key then value, RECORD_BYTES each) in one buffer, so
 * every system reads its input from the same memory and generation stays outside the timed section.
 */
export function makePayload(records: number): Buffer {
  const payload = Buffer.allocUnsafe(records * RECORD_BYTES);
  fillPseudoRandom(payload, 0x6f6e656c);
  for (let i = 0; i < records; i++) writeKey(payload, i * RECORD_BYTES, i);
  return payload;
}

function keyOf(payload: Buffer, index: number): Buffer {
  const start = index * RECORD_BYTES;
  return payload.subarray(start, start + KEY_BYTES);
}

function valueOf(payload: Buffer, index: number): Buffer {
  const start = index * RECORD_BYTES + KEY_BYTES;
  return payload.subarray(start, start + VALUE_BYTES);
}

/**
 * One record of the payload: key and value are Buffer views into it. The shape is onelog's RecordInput
 * (without headers), and the SQLite peer binds the same key and value Buffers.
 */
export interface BenchRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly timestamp: number;
}

/** Record `index` of the payload: key and value are views into it. */
export function recordAt(payload: Buffer, index: number): BenchRecord {
  return { key: keyOf(payload, index), value: valueOf(payload, index), timestamp: BASE_TIMESTAMP + index };
}

/**
 * Records `start` … `start + count - 1` of the payload. Systems make their inputs with this inside the
 * timed loop, as a producer would from its own data, so that no system runs with millions of prepared
 * objects alive (which taxes the garbage collector of whichever system allocates most).
 */
export function recordsAt(payload: Buffer, start: number, count: number): BenchRecord[] {
  const records: BenchRecord[] = new Array<BenchRecord>(count);
  for (let j = 0; j < count; j++) records[j] = recordAt(payload, start + j);
  return records;
}

export function recordCount(payload: Buffer): number {
  return payload.length / RECORD_BYTES;
}

/**
 * A pool of pseudo-random bytes from which values of an unbounded record stream are cut, for runs too
 * big to hold their payload in memory (the large-topic run).
 */
export function makeValuePool(bytes: number): Buffer {
  const pool = Buffer.allocUnsafe(bytes);
  fillPseudoRandom(pool, 0x62656e63);
  return pool;
}

/** The value of record `index` in an unbounded stream: a window of the pool chosen by the index. */
export function pooledValue(pool: Buffer, index: number): Buffer {
  const start = (index * 7919) % (pool.length - VALUE_BYTES);
  return pool.subarray(start, start + VALUE_BYTES);
}

/**
 * What a consumer folds over every record it reads: counts, bytes and an order-independent checksum of
 * bytes at both ends of each key and value, so reads touch the data and can be checked against the
 * records written (in whatever order partitions return them).
 */
export class ReadTally {
  records = 0;
  bytes = 0;
  checksum = 0;

  add(key: Uint8Array | null, value: Uint8Array | null): void {
    this.records++;
    if (key !== null && key.length > 0) {
      this.bytes += key.length;
      this.checksum += key[0]! + key[key.length - 1]!;
    }
    if (value !== null && value.length > 0) {
      this.bytes += value.length;
      this.checksum += value[0]! + value[value.length - 1]!;
    }
  }

  /** Fails loudly when a consumer did not read back exactly what was written. */
  expectSame(expected: ReadTally, label: string): void {
    if (this.records !== expected.records || this.bytes !== expected.bytes || this.checksum !== expected.checksum) {
      throw new Error(
        `${label}: read ${this.records} records / ${this.bytes} bytes / checksum ${this.checksum}, ` +
          `expected ${expected.records} / ${expected.bytes} / ${expected.checksum}`,
      );
    }
  }
}

/** The tally a correct consumer of the whole payload must reach. */
export function tallyOf(payload: Buffer): ReadTally {
  const tally = new ReadTally();
  const records = payload.length / RECORD_BYTES;
  for (let i = 0; i < records; i++) tally.add(keyOf(payload, i), valueOf(payload, i));
  return tally;
}
