// Damaged files: a real database (several topics, codecs, thousands of records) is copied hundreds of times
// with random bit flips, zeroed sectors or a truncation, each aimed at one area (header, superblocks,
// metadata, slot area, data extents); every copy is opened and read in full. Opening and reading must end
// in success or in an OnelogError (a read failing with CORRUPT_BATCH / CORRUPT_FILE naming a position),
// never another exception, a hang, a read that makes no progress, or another partition's data. The copies
// are read in a worker thread so that a hang is caught by a per-copy watchdog. It must not modify the
// engine's files, only copies in a temporary directory.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { OnelogError } from '../../src/errors.ts';
import {
  DATA_START,
  HEADER_USED,
  SUPERBLOCK_POSITIONS,
  SUPERBLOCK_USED,
  decodeFileHeader,
  decodeSuperblock,
  slotPosition,
  type Superblock,
} from '../../src/format/file-layout.ts';
import { decodeMetadata } from '../../src/format/metadata.ts';
import { batchTotalSize, decodeRecords, readBatchHeader, type RecordInput } from '../../src/format/record-batch.ts';
import { Engine } from '../../src/storage/engine.ts';
import { Prng } from './helpers/sim-file-system.ts';
import { watchWorker, type WorkerMessage } from './helpers/watched-worker.ts';

const ITERATIONS = 300;
const EXTENT_SIZE = 64 * 1024;
/** Per copy; only a hang comes near it. */
const WATCHDOG_MS = 20_000;

type Area = 'header' | 'superblocks' | 'metadata' | 'slots' | 'data';

interface Range {
  readonly start: number;
  readonly end: number;
}

interface Job {
  readonly template: string;
  readonly dir: string;
  readonly seed: number;
  readonly iterations: number;
  readonly areas: Readonly<Record<Area, readonly Range[]>>;
  /** Hash of each stored batch's bytes from its magic byte on → `topic-partition@baseOffset`. */
  readonly batches: Readonly<Record<string, string>>;
}


/** Bytes from the magic byte on: what the batch CRC protects, plus magic and CRC themselves. */
function contentHash(batch: Buffer): string {
  return createHash('sha1').update(batch.subarray(16)).digest('hex');
}

// ---------------------------------------------------------------------------------------------------
// Worker: damages copies and reads them.

/**
 * What a damaged copy must still do: 'intact' when only redundant or untrusted bytes were hit (one of the two
 * superblocks, the slot area), so every batch reads back; 'open' when only data was hit (or cut off), so the
 * file still opens; 'any' otherwise.
 */
type Expectation = 'intact' | 'open' | 'any';

interface Damage {
  readonly bytes: Buffer;
  readonly description: string;
  readonly expect: Expectation;
}

function damage(rng: Prng, image: Buffer, areas: Job['areas']): Damage {
  const area = rng.pick<Area>(['header', 'superblocks', 'superblocks', 'metadata', 'metadata', 'slots', 'data', 'data', 'data', 'data']);
  const range = rng.pick(areas[area]);
  const at = (): number => rng.range(range.start, Math.min(range.end, image.length) - 1);
  const roll = rng.next();
  if (roll < 0.2) {
    const position = at();
    return { bytes: Buffer.from(image.subarray(0, position)), description: `${area}: truncated at ${String(position)}`, expect: area === 'data' ? 'open' : 'any' };
  }
  const expect: Expectation = area === 'superblocks' || area === 'slots' ? 'intact' : area === 'data' ? 'open' : 'any';
  const bytes = Buffer.from(image);
  if (roll < 0.35) {
    const sector = Math.floor(at() / 512) * 512;
    const fill = rng.chance(0.5) ? Buffer.alloc(512) : rng.bytes(512);
    fill.copy(bytes, sector, 0, Math.min(512, bytes.length - sector));
    return { bytes, description: `${area}: sector at ${String(sector)} overwritten with ${fill.every((b) => b === 0) ? 'zeros' : 'random bytes'}`, expect };
  }
  const flips: number[] = [];
  for (let n = rng.range(1, 8); n > 0; n--) {
    const position = at();
    bytes[position]! ^= 1 << rng.int(8);
    flips.push(position);
  }
  return { bytes, description: `${area}: bits flipped at ${flips.join(', ')}`, expect };
}

function describe(err: unknown): string {
  if (err instanceof OnelogError) return `OnelogError ${err.code}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Reads every partition from logStartOffset to highWatermark, decoding every batch; returns a violation, or
 * the number of batches read.
 */
function readEverything(db: Engine, batches: Job['batches']): string | number {
  let count = 0;
  for (const t of db.listTopics()) {
    for (let p = 0; p < t.partitions; p++) {
      const where = `${t.name}-${String(p)}`;
      const hw = db.highWatermark(t.name, p);
      let offset = db.logStartOffset(t.name, p);
      while (offset < hw) {
        const res = db.read(t.name, p, offset, { maxBytes: 64 * 1024 });
        if (res.records.length === 0) return `${where}: read at ${String(offset)} below the highWatermark ${String(hw)} returned nothing`;
        let pos = 0;
        let last = offset - 1;
        while (pos < res.records.length) {
          const size = batchTotalSize(res.records, pos);
          if (size < 0 || pos + size > res.records.length) return `${where}: read at ${String(offset)} returned a partial batch`;
          decodeRecords(res.records, pos);
          const batch = res.records.subarray(pos, pos + size);
          const origin = batches[contentHash(batch)];
          if (origin === undefined) return `${where}: a batch that passes its CRC was never written`;
          if (!origin.startsWith(`${where}@`)) return `${where}: read at ${String(offset)} returned a batch of ${origin}`;
          const header = readBatchHeader(res.records, pos);
          last = header.baseOffset + header.lastOffsetDelta;
          pos += size;
          count++;
        }
        if (res.nextOffset <= offset || last < offset) return `${where}: read at ${String(offset)} made no progress (next ${String(res.nextOffset)})`;
        offset = res.nextOffset;
      }
    }
  }
  return count;
}

async function examine(file: string, batches: Job['batches'], expect: Expectation): Promise<{ outcome: string; violation: string | null }> {
  let db: Engine;
  try {
    db = await Engine.open(file, { create: false });
  } catch (err) {
    const outcome = `open: ${describe(err)}`;
    if (!(err instanceof OnelogError)) return { outcome, violation: `open threw ${describe(err)}` };
    return { outcome, violation: expect === 'any' ? null : `open failed though only ${expect === 'open' ? 'data' : 'redundant or untrusted bytes'} were damaged: ${err.message}` };
  }
  let outcome = 'read in full';
  let violation: string | null = null;
  try {
    const read = readEverything(db, batches);
    const expected = Object.keys(batches).length;
    if (typeof read === 'string') violation = read;
    else if (expect === 'intact' && read !== expected) violation = `only ${String(read)} of ${String(expected)} batches read back, though only redundant or untrusted bytes were damaged`;
  } catch (err) {
    outcome = `read: ${describe(err)}`;
    if (!(err instanceof OnelogError)) violation = `reading threw ${describe(err)}`;
    else if (err.code !== 'CORRUPT_BATCH' && err.code !== 'CORRUPT_FILE') violation = `reading failed with ${err.code}, not CORRUPT_BATCH or CORRUPT_FILE: ${err.message}`;
    else if (typeof err.position !== 'number') violation = `reading failed with ${err.code} naming no position: ${err.message}`;
    else if (expect === 'intact') violation = `reading failed though only redundant or untrusted bytes were damaged: ${err.message}`;
  }
  try {
    await db.close();
  } catch (err) {
    if (!(err instanceof OnelogError)) violation ??= `close threw ${describe(err)}`;
  }
  return { outcome, violation };
}

async function runWorker(job: Job): Promise<void> {
  const port = parentPort!;
  const rng = new Prng(job.seed);
  const image = fs.readFileSync(job.template);
  for (let iteration = 0; iteration < job.iterations; iteration++) {
    const { bytes, description, expect } = damage(rng, image, job.areas);
    const file = path.join(job.dir, `copy-${String(iteration)}.onelog`);
    fs.writeFileSync(file, bytes);
    port.postMessage({ kind: 'start', label: `copy ${String(iteration)} (${description})` } satisfies WorkerMessage);
    const { outcome, violation } = await examine(file, job.batches, expect);
    fs.rmSync(file);
    port.postMessage({ kind: 'done', outcome, violation } satisfies WorkerMessage);
  }
  port.postMessage({ kind: 'finished' } satisfies WorkerMessage);
}

// ---------------------------------------------------------------------------------------------------
// Main thread: builds the database, maps its areas, and watches the worker.

async function buildDatabase(file: string): Promise<void> {
  const rng = new Prng(2024);
  // The records carry 2026 timestamps: infinite retention keeps them all.
  const db = await Engine.open(file, { extentSize: EXTENT_SIZE, topicDefaults: { 'retention.ms': '-1' } });
  await db.createTopic('orders', { partitions: 3 });
  await db.createTopic('events', { partitions: 2, configs: { 'compression.type': 'gzip' } });
  await db.createTopic('logs', { configs: { 'compression.type': 'snappy' } });
  const targets = [...[0, 1, 2].map((p) => ['orders', p] as const), ['events', 0] as const, ['events', 1] as const, ['logs', 0] as const];
  let n = 0;
  const appends: Promise<unknown>[] = [];
  for (let b = 0; b < 400; b++) {
    const [topic, partition] = rng.pick(targets);
    const records: RecordInput[] = Array.from({ length: rng.range(1, 20) }, () => ({
      key: Buffer.from(`k${String(n++)}`),
      value: rng.chance(0.5) ? Buffer.from(`value ${String(n)} `.repeat(rng.range(1, 20))) : rng.bytes(rng.range(0, 300)),
      headers: rng.chance(0.2) ? [{ key: 'h', value: Buffer.from('x') }] : [],
      timestamp: 1_767_225_600_000 + n,
    }));
    appends.push(db.append(topic, partition, records));
  }
  await Promise.all(appends);
  await db.commitOffsets('g', [{ topic: 'orders', partition: 0, offset: 10 }]);
  assert.ok(n >= 3000, `only ${String(n)} records`);
  await db.close();
}

/** The areas of the file, from its own newest checkpoint. */
function mapAreas(image: Buffer): Job['areas'] {
  const header = decodeFileHeader(image.subarray(0, 4096), 'template');
  const sb = SUPERBLOCK_POSITIONS.map((p) => decodeSuperblock(image.subarray(p, p + SUPERBLOCK_USED)))
    .filter((s): s is Superblock => s !== null)
    .sort((a, b) => b.sequence - a.sequence)[0]!;
  const meta = decodeMetadata(image.subarray(sb.metaPosition, sb.metaPosition + sb.metaLength), sb.metaPosition);
  const slots = meta.topics.flatMap((t) => t.partitions.map((p) => p.slot));
  const data: Range[] = [];
  for (const t of meta.topics) {
    for (const p of t.partitions) {
      for (const [index] of p.extents) {
        const start = DATA_START + index * header.extentSize;
        const inTail = p.tailPosition >= start && p.tailPosition <= start + header.extentSize;
        data.push({ start, end: inTail ? p.tailPosition : start + header.extentSize });
      }
    }
  }
  return {
    header: [{ start: 0, end: HEADER_USED }],
    superblocks: SUPERBLOCK_POSITIONS.map((p) => ({ start: p, end: p + SUPERBLOCK_USED })),
    metadata: [{ start: sb.metaPosition, end: sb.metaPosition + sb.metaLength }],
    slots: [{ start: slotPosition(0), end: slotPosition(Math.max(...slots) + 1) }],
    data: data.filter((r) => r.end > r.start),
  };
}

/** Every batch of the undamaged database, by content. */
async function catalogue(file: string): Promise<Record<string, string>> {
  const db = await Engine.open(file, { readOnly: true });
  const out: Record<string, string> = {};
  for (const t of db.listTopics()) {
    for (let p = 0; p < t.partitions; p++) {
      let offset = 0;
      while (offset < db.highWatermark(t.name, p)) {
        const res = db.read(t.name, p, offset);
        for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
          const batch = res.records.subarray(pos, pos + batchTotalSize(res.records, pos));
          out[contentHash(batch)] = `${t.name}-${String(p)}@${String(readBatchHeader(batch).baseOffset)}`;
        }
        offset = res.nextOffset;
      }
    }
  }
  await db.close();
  return out;
}

if (isMainThread) {
  test(`${String(ITERATIONS)} damaged copies open and read to success or an OnelogError`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-corruption-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const template = path.join(dir, 'template.onelog');
    await buildDatabase(template);
    const batches = await catalogue(template);
    const job: Job = { template, dir, seed: 7, iterations: ITERATIONS, areas: mapAreas(fs.readFileSync(template)), batches };
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    const { violations, outcomes } = await watchWorker(worker, WATCHDOG_MS);
    for (const [outcome, count] of [...outcomes].sort((a, b) => b[1] - a[1])) t.diagnostic(`${String(count)} × ${outcome}`);
    assert.deepEqual(violations, [], `${String(violations.length)} damaged copies broke the contract:\n${violations.join('\n')}`);
  });
} else {
  await runWorker(workerData as Job);
}
