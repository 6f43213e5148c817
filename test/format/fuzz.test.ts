// Fuzzing of everything that reads untrusted bytes: random buffers and mutated valid batches (bit flips,
// truncations, rewritten length and count fields, with and without a repaired CRC) fed to the batch
// readers and the decompressors. The only acceptable failure is OnelogError; the run must stay fast.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OnelogError } from '../../src/errors.ts';
import {
  ATTRIBUTES_OFFSET, COMPRESSION_TYPES, CRC_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, RECORD_BATCH_OVERHEAD, RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET, batchTotalSize, compress, crc32c, decodeRecords, decompress, encodeBatch, readBatchHeader, scanRecordKeys,
  setLogAppendTime, verifyBatchCrc,
} from '../../src/format/index.ts';
import { batchArb } from './arbitraries.ts';

/** mulberry32: a small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function onlyOnelogErrors(label: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof OnelogError)) assert.fail(`${label} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}

/** Runs every reader over the batch at `position` (the writer on a private copy); only verifyBatchCrc must never throw. */
function readEverything(buf: Buffer, position: number, label: string): void {
  onlyOnelogErrors(`${label} readBatchHeader`, () => readBatchHeader(buf, position));
  onlyOnelogErrors(`${label} batchTotalSize`, () => batchTotalSize(buf, position));
  assert.equal(typeof verifyBatchCrc(buf, position), 'boolean', `${label} verifyBatchCrc`); // a boolean, never a throw
  onlyOnelogErrors(`${label} decodeRecords`, () => decodeRecords(buf, position));
  // The keys-only reader makes the same checks: it fails exactly where decodeRecords fails.
  const outcome = (read: () => unknown): string => {
    try {
      read();
      return 'read';
    } catch (err) {
      return err instanceof OnelogError ? err.code : String(err);
    }
  };
  assert.equal(
    outcome(() => scanRecordKeys(buf, position, { record: () => undefined })),
    outcome(() => decodeRecords(buf, position)),
    `${label} scanRecordKeys`,
  );
  onlyOnelogErrors(`${label} setLogAppendTime`, () => setLogAppendTime(Buffer.from(buf), position, 1_700_000_000_000));
}

/** Recomputes the CRC over whatever the (possibly damaged) length field covers, so parsing goes past it. */
function repairCrc(buf: Buffer, position: number): void {
  if (buf.length - position < RECORD_BATCH_OVERHEAD) return;
  const end = Math.min(buf.length, position + LOG_OVERHEAD + Math.max(0, buf.readInt32BE(position + LENGTH_OFFSET)));
  if (end > position + ATTRIBUTES_OFFSET) buf.writeUInt32BE(crc32c(buf, position + ATTRIBUTES_OFFSET, end), position + CRC_OFFSET);
}

function randomBytes(rand: () => number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = Math.floor(rand() * 256);
  return buf;
}

function mutate(rand: () => number, original: Buffer): Buffer {
  let buf = Buffer.from(original);
  const steps = 1 + Math.floor(rand() * 3);
  for (let s = 0; s < steps; s++) {
    const at = Math.floor(rand() * buf.length);
    switch (Math.floor(rand() * 6)) {
      case 0: // bit flip
        if (buf.length > 0) buf[at] = buf[at]! ^ (1 << Math.floor(rand() * 8));
        break;
      case 1: // truncation
        buf = buf.subarray(0, at);
        break;
      case 2: // batchLength: a random int32 or a small shift
        if (buf.length >= LOG_OVERHEAD) {
          const value = rand() < 0.5 ? Math.floor(rand() * 2 ** 32) - 2 ** 31 : buf.readInt32BE(LENGTH_OFFSET) + Math.floor(rand() * 21) - 10;
          buf.writeInt32BE(Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, value)), LENGTH_OFFSET);
        }
        break;
      case 3: // recordCount
        if (buf.length >= RECORD_BATCH_OVERHEAD) buf.writeInt32BE(rand() < 0.5 ? Math.floor(rand() * 2 ** 32) - 2 ** 31 : Math.floor(rand() * 20) - 2, RECORDS_COUNT_OFFSET);
        break;
      case 4: // a record length varint or any record byte rewritten
        if (buf.length > RECORDS_OFFSET) buf[RECORDS_OFFSET + Math.floor(rand() * (buf.length - RECORDS_OFFSET))] = Math.floor(rand() * 256);
        break;
      default: // random bytes spliced in
        buf = Buffer.concat([buf.subarray(0, at), randomBytes(rand, 1 + Math.floor(rand() * 8)), buf.subarray(at)]);
    }
  }
  if (rand() < 0.6) repairCrc(buf, 0);
  return buf;
}

void describe('fuzz', { timeout: 20_000 }, () => {
  void it('random bytes, with and without a plausible header, only ever raise OnelogError', () => {
    const rand = prng(1);
    for (let i = 0; i < 3000; i++) {
      const buf = randomBytes(rand, Math.floor(rand() * 160));
      if (buf.length >= RECORD_BATCH_OVERHEAD && rand() < 0.7) {
        buf[MAGIC_OFFSET] = 2;
        buf.writeInt32BE(buf.length - LOG_OVERHEAD, LENGTH_OFFSET);
        buf.writeInt16BE(Math.floor(rand() * 5), ATTRIBUTES_OFFSET);
        buf.writeInt32BE(Math.floor(rand() * 6), RECORDS_COUNT_OFFSET);
        repairCrc(buf, 0);
      }
      const prefix = Math.floor(rand() * 4);
      readEverything(Buffer.concat([Buffer.alloc(prefix), buf]), prefix, `random #${i}`);
    }
  });

  void it('mutated valid batches of every codec only ever raise OnelogError', () => {
    const seeds = fc.sample(batchArb, { numRuns: 60, seed: 42 }).map((input) => encodeBatch(input));
    const rand = prng(2);
    for (let i = 0; i < 4000; i++) {
      const buf = mutate(rand, seeds[i % seeds.length]!);
      readEverything(buf, 0, `mutant #${i}`);
    }
  });

  void it('decompressors only ever raise OnelogError on random and damaged input', () => {
    const rand = prng(3);
    const magics: Record<string, Buffer> = {
      gzip: Buffer.from('1f8b0800000000000003', 'hex'),
      snappy: Buffer.from('82534e41505059000000000100000001', 'hex'),
      lz4: Buffer.from('04224d186040fb', 'hex'),
      zstd: Buffer.from('28b52ffd', 'hex'),
    };
    const sample = Buffer.from('onelog '.repeat(400));
    for (const type of COMPRESSION_TYPES) {
      const valid = compress(type, sample);
      for (let i = 0; i < 400; i++) {
        const noise = randomBytes(rand, Math.floor(rand() * 120));
        const inputs = [noise, Buffer.concat([magics[type] ?? Buffer.alloc(0), noise]), mutate(rand, valid)];
        for (const input of inputs) onlyOnelogErrors(`${type} #${i}`, () => decompress(type, input));
      }
    }
  });
});
