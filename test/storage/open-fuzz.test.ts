// Fuzzing Engine.open: files of random bytes, files with a valid header and random rest, and copies of a
// valid database whose header, superblock or metadata fields were changed with their checksums recomputed
// (so the engine must rely on its own validation, not on a CRC). Each file is opened, read in full, appended
// to and closed: only OnelogError may be thrown, and nothing may hang (a worker thread runs the files under
// a per-file watchdog). It uses real files in a temporary directory and must not touch the engine's files.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { OnelogError } from '../../src/errors.ts';
import { crc32c } from '../../src/format/crc32c.ts';
import {
  EXTENT_SIZE_OFFSET,
  FORMAT_VERSION,
  HEADER_CRC_OFFSET,
  HEADER_SIZE,
  SB_CRC_OFFSET,
  SB_EXTENT_COUNT_OFFSET,
  SB_META_LENGTH_OFFSET,
  SB_META_POSITION_OFFSET,
  SB_SEQUENCE_OFFSET,
  SUPERBLOCK_POSITIONS,
  SUPERBLOCK_USED,
  VERSION_OFFSET,
  decodeSuperblock,
  encodeFileHeader,
  encodeSuperblock,
  writeUint64,
  type Superblock,
} from '../../src/format/file-layout.ts';
import { batchTotalSize, decodeRecords } from '../../src/format/record-batch.ts';
import { Engine } from '../../src/storage/engine.ts';
import { Prng } from './helpers/sim-file-system.ts';
import { watchWorker, type WorkerMessage } from './helpers/watched-worker.ts';

const EXTENT_SIZE = 64 * 1024;
const WATCHDOG_MS = 20_000;
const COUNTS = { random: 150, headerThenRandom: 100, fields: 150, metadata: 400 } as const;

type Kind = keyof typeof COUNTS;

interface Job {
  readonly template: string;
  readonly dir: string;
  readonly seed: number;
}


// ---------------------------------------------------------------------------------------------------
// Worker: makes the files and runs them.

/** The newest superblock of an image, and the slot it is in. */
function newestSuperblock(image: Buffer): { sb: Superblock; position: number } {
  const found: { sb: Superblock; position: number }[] = [];
  for (const position of SUPERBLOCK_POSITIONS) {
    const sb = decodeSuperblock(image.subarray(position, position + SUPERBLOCK_USED));
    if (sb !== null) found.push({ sb, position });
  }
  return found.sort((a, b) => b.sb.sequence - a.sb.sequence)[0]!;
}

function interestingNumber(rng: Prng, current: number): unknown {
  return rng.pick<unknown>([
    -1,
    0,
    1,
    2,
    current + 1,
    current - 1,
    current * 2,
    2 ** 31,
    2 ** 32,
    2 ** 53 - 1,
    -(2 ** 53),
    rng.range(0, 40),
    rng.range(0, 2 ** 20),
    1.5,
    '7',
    null,
    [],
    {},
  ]);
}

/** One random edit somewhere inside a JSON value; returns a description of it. */
function mutateJson(rng: Prng, root: Record<string, unknown>): string {
  const paths: { parent: Record<string, unknown> | unknown[]; key: string | number; path: string }[] = [];
  const walk = (value: unknown, at: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        paths.push({ parent: value, key: i, path: `${at}[${String(i)}]` });
        walk(v, `${at}[${String(i)}]`);
      });
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        paths.push({ parent: value as Record<string, unknown>, key: k, path: `${at}.${k}` });
        walk(v, `${at}.${k}`);
      }
    }
  };
  walk(root, '');
  const target = rng.pick(paths);
  const get = (): unknown => (Array.isArray(target.parent) ? target.parent[target.key as number] : target.parent[target.key as string]);
  const set = (v: unknown): void => {
    if (Array.isArray(target.parent)) target.parent[target.key as number] = v;
    else target.parent[target.key as string] = v;
  };
  const current = get();
  const roll = rng.next();
  if (roll < 0.6 && typeof current === 'number') {
    const next = interestingNumber(rng, current);
    set(next);
    return `${target.path}: ${JSON.stringify(current)} → ${JSON.stringify(next)}`;
  }
  if (roll < 0.7 && Array.isArray(target.parent)) {
    target.parent.push(structuredClone(current));
    return `${target.path}: duplicated`;
  }
  if (roll < 0.8) {
    if (Array.isArray(target.parent)) target.parent.splice(target.key as number, 1);
    else Reflect.deleteProperty(target.parent, target.key);
    return `${target.path}: removed`;
  }
  const other = rng.pick(paths);
  const value = Array.isArray(other.parent) ? other.parent[other.key as number] : other.parent[other.key as string];
  set(structuredClone(value));
  return `${target.path}: replaced by the value of ${other.path}`;
}

/** A copy of the template whose newest metadata blob is edited, with blob CRC and superblock fixed up. */
function metadataVariant(rng: Prng, template: Buffer): { bytes: Buffer; description: string } {
  const bytes = Buffer.from(template);
  const { sb, position } = newestSuperblock(bytes);
  const meta = JSON.parse(bytes.subarray(sb.metaPosition, sb.metaPosition + sb.metaLength).toString('utf8')) as Record<string, unknown>;
  const edits = Array.from({ length: rng.range(1, 3) }, () => mutateJson(rng, meta));
  const blob = Buffer.from(JSON.stringify(meta), 'utf8');
  blob.copy(bytes, sb.metaPosition);
  encodeSuperblock({ ...sb, metaLength: blob.length, metaCrc: crc32c(blob) }).copy(bytes, position);
  return { bytes, description: `metadata ${edits.join('; ')}` };
}

/** A copy with a header or superblock field set to an odd value, its CRC recomputed. */
function fieldVariant(rng: Prng, template: Buffer): { bytes: Buffer; description: string } {
  const bytes = Buffer.from(template);
  const { position } = newestSuperblock(bytes);
  const value = rng.pick([0, 1, 0xffffffff, 0x7fffffff, 4096, 65536, 1 << 20, 1 << 30, rng.range(0, 1 << 24)]);
  const field = rng.pick(['formatVersion', 'extentSize', 'sequence', 'metaPosition', 'metaLength', 'extentCount'] as const);
  if (field === 'formatVersion' || field === 'extentSize') {
    bytes.writeUInt32LE(field === 'formatVersion' ? rng.pick([0, FORMAT_VERSION + 1, value]) : value, field === 'formatVersion' ? VERSION_OFFSET : EXTENT_SIZE_OFFSET);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
  } else {
    const offsets = { sequence: SB_SEQUENCE_OFFSET, metaPosition: SB_META_POSITION_OFFSET, metaLength: SB_META_LENGTH_OFFSET, extentCount: SB_EXTENT_COUNT_OFFSET } as const;
    if (field === 'sequence' || field === 'metaPosition') writeUint64(bytes, position + offsets[field], rng.chance(0.5) ? value : value * 0x1_0000_0000);
    else bytes.writeUInt32LE(value, position + offsets[field]);
    bytes.writeUInt32LE(crc32c(bytes.subarray(position, position + SB_CRC_OFFSET)), position + SB_CRC_OFFSET);
  }
  return { bytes, description: `${field} set to ${String(value)}` };
}

function makeFile(kind: Kind, rng: Prng, template: Buffer): { bytes: Buffer; description: string } {
  switch (kind) {
    case 'random': {
      const size = rng.pick([0, rng.range(1, 64), rng.range(64, HEADER_SIZE), rng.range(HEADER_SIZE, 3 * HEADER_SIZE), rng.range(1 << 20, (1 << 20) + 3 * EXTENT_SIZE)]);
      const bytes = rng.bytes(size);
      // Half of them start with the magic, to get past the first check.
      if (rng.chance(0.5)) template.copy(bytes, 0, 0, Math.min(8, size));
      return { bytes, description: `${String(size)} random bytes` };
    }
    case 'headerThenRandom': {
      const size = rng.range(HEADER_SIZE, (1 << 20) + 2 * EXTENT_SIZE);
      const bytes = rng.bytes(size);
      encodeFileHeader({ formatVersion: FORMAT_VERSION, extentSize: EXTENT_SIZE, dataStart: 1 << 20, databaseId: '00000000-0000-4000-8000-000000000000', createdAt: 0 }).copy(bytes, 0, 0, HEADER_SIZE);
      if (rng.chance(0.5) && size >= SUPERBLOCK_POSITIONS[0] + SUPERBLOCK_USED) {
        // A valid superblock naming a random blob (its CRC made to match).
        const metaPosition = rng.range(0, size - 1);
        const metaLength = rng.range(1, Math.min(EXTENT_SIZE, size - metaPosition));
        const metaCrc = crc32c(bytes.subarray(metaPosition, metaPosition + metaLength));
        encodeSuperblock({ sequence: 5, metaPosition, metaLength, metaCrc, extentCount: rng.range(0, 8) }).copy(bytes, SUPERBLOCK_POSITIONS[0]);
      }
      return { bytes, description: `valid header, then ${String(size - HEADER_SIZE)} random bytes` };
    }
    case 'fields':
      return fieldVariant(rng, template);
    case 'metadata':
      return metadataVariant(rng, template);
  }
}

function describe(err: unknown): string {
  if (err instanceof OnelogError) return `OnelogError ${err.code}${err.code === 'FAILED' ? ` (cause: ${describe(err.cause)})` : ''}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** An error of the operating system (it has an errno code such as EIO), as opposed to one of the program. */
function isIoError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).errno === 'number';
}

/** Opens, reads everything, appends to every partition, commits and closes; the first error ends it. */
async function exercise(file: string): Promise<string> {
  const db = await Engine.open(file, { create: false, busyTimeoutMs: 100 });
  try {
    const topics = db.listTopics();
    for (const t of topics) {
      for (let p = 0; p < t.partitions; p++) {
        const hw = db.highWatermark(t.name, p);
        let offset = db.logStartOffset(t.name, p);
        for (let reads = 0; offset < hw && reads < 10_000; reads++) {
          const res = db.read(t.name, p, offset, { maxBytes: 64 * 1024 });
          for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) decodeRecords(res.records, pos);
          if (res.nextOffset <= offset) throw new Error(`read at ${String(offset)} made no progress`);
          offset = res.nextOffset;
        }
        await db.append(t.name, p, [{ key: null, value: Buffer.from('fuzz'), headers: [], timestamp: 1 }]);
      }
    }
    const first = topics[0];
    if (first !== undefined) await db.commitOffsets('fuzz', [{ topic: first.name, partition: 0, offset: 0 }]);
    return 'opened and used';
  } finally {
    await db.close();
  }
}

async function runWorker(job: Job): Promise<void> {
  const port = parentPort!;
  const rng = new Prng(job.seed);
  const template = fs.readFileSync(job.template);
  for (const kind of Object.keys(COUNTS) as Kind[]) {
    for (let i = 0; i < COUNTS[kind]; i++) {
      const { bytes, description } = makeFile(kind, rng, template);
      const file = path.join(job.dir, `${kind}-${String(i)}.onelog`);
      fs.writeFileSync(file, bytes);
      port.postMessage({ kind: 'start', label: `${kind} #${String(i)} (${description})` } satisfies WorkerMessage);
      let outcome: string;
      let violation: string | null = null;
      try {
        outcome = await exercise(file);
      } catch (err) {
        outcome = describe(err);
        // FAILED means an I/O error; one caused by a programming error (a RangeError...) is that error in disguise.
        const real = err instanceof OnelogError && err.code === 'FAILED' && !(err.cause instanceof OnelogError) && !isIoError(err.cause) ? err.cause : err;
        if (!(real instanceof OnelogError)) violation = `${describe(err)}${real instanceof Error && real.stack !== undefined ? `\n${real.stack.split('\n').slice(1, 4).join('\n')}` : ''}`;
      }
      fs.rmSync(file);
      port.postMessage({ kind: 'done', outcome: `${kind}: ${outcome}`, violation } satisfies WorkerMessage);
    }
  }
  port.postMessage({ kind: 'finished' } satisfies WorkerMessage);
}

// ---------------------------------------------------------------------------------------------------
// Main thread.

async function buildTemplate(file: string): Promise<void> {
  const db = await Engine.open(file, { extentSize: EXTENT_SIZE });
  await db.createTopic('a', { partitions: 2 });
  await db.createTopic('b', { configs: { 'compression.type': 'gzip' } });
  const rng = new Prng(5);
  for (let i = 0; i < 60; i++) {
    const topic = i % 3 === 2 ? 'b' : 'a';
    await db.append(topic, topic === 'a' ? i % 2 : 0, [{ key: Buffer.from(String(i)), value: rng.bytes(rng.range(100, 5000)), headers: [], timestamp: 1_767_225_600_000 + i }]);
  }
  await db.commitOffsets('g', [{ topic: 'a', partition: 1, offset: 3 }]);
  const producerId = await db.allocateProducerId();
  await db.append('a', 0, [{ key: null, value: Buffer.from('idempotent'), headers: [], timestamp: 1 }], { producerId, producerEpoch: 0, baseSequence: 0 });
  await db.close();
}

if (isMainThread) {
  test('Engine.open throws only OnelogError on random, damaged and inconsistent files', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-open-fuzz-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const template = path.join(dir, 'template.onelog');
    await buildTemplate(template);
    const worker = new Worker(new URL(import.meta.url), { workerData: { template, dir, seed: 11 } satisfies Job });
    const { violations, outcomes } = await watchWorker(worker, WATCHDOG_MS);
    for (const [outcome, count] of [...outcomes].sort((a, b) => b[1] - a[1])) t.diagnostic(`${String(count)} × ${outcome}`);
    assert.deepEqual(violations, [], `${String(violations.length)} files made the engine throw something other than OnelogError:\n${violations.join('\n')}`);
  });
} else {
  await runWorker(workerData as Job);
}
