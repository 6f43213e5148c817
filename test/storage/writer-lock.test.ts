// The cross-process writer lock as seen through the engine: while another process holds the lock an append
// fails with BUSY once busyTimeoutMs has passed (reads keep working); a SIGKILLed holder's lock is dropped by
// the kernel and the next append succeeds; a writer killed mid-append is recovered, keeping every append it
// acknowledged. It does not test the lock's fairness beyond a waiting writer getting its turn.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { OnelogBusyError, OnelogError } from '../../src/errors.ts';
import { SLOT_SIZE, decodeCommitHeader, slotPosition } from '../../src/format/file-layout.ts';
import { batchTotalSize, decodeRecords, readBatchHeader, verifyBatchCrc } from '../../src/format/record-batch.ts';
import { sleep, startChild, type ChildScript } from './helpers/child-script.ts';

const TOPIC = 't';
const BUSY_TIMEOUT_MS = 1000;
const LINE_TIMEOUT_MS = 30_000;
/** Kill attempts until one lands while the child holds the lock (it almost always does). */
const KILL_ATTEMPTS = 5;
/** Generous: a fair lock lets a waiter in after one commit of the busy writer, a few milliseconds. */
const FAIRNESS_BUSY_TIMEOUT_MS = 5000;
const FAIRNESS_APPENDS = 5;

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-lock-')), 'db.onelog');
}

function record(text: string): { key: null; value: Buffer; timestamp: number } {
  return { key: null, value: Buffer.from(text), timestamp: Date.now() };
}

/** writerState of the commit header as the file holds it: 1 while (or when last) a writer held the lock. */
function writerState(file: string): number {
  const buf = Buffer.alloc(SLOT_SIZE);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, SLOT_SIZE, slotPosition(0));
  } finally {
    fs.closeSync(fd);
  }
  const header = decodeCommitHeader(buf);
  assert.ok(header !== null, 'the commit header must be valid');
  return header.writerState;
}

/** All values of partition 0, checking CRCs and that offsets run contiguously from 0 to the highWatermark. */
function readValues(db: Engine): Buffer[] {
  const values: Buffer[] = [];
  const hw = db.highWatermark(TOPIC, 0);
  let offset = 0;
  while (offset < hw) {
    const res = db.read(TOPIC, 0, offset);
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      assert.ok(verifyBatchCrc(res.records, pos), `CRC mismatch at offset ${offset}`);
      assert.equal(readBatchHeader(res.records, pos).baseOffset, offset, 'offsets must be contiguous');
      for (const r of decodeRecords(res.records, pos)) {
        values.push(r.value!);
        offset = r.offset + 1;
      }
    }
    assert.equal(res.nextOffset, offset);
  }
  return values;
}

test('an append fails with BUSY after busyTimeoutMs while another process holds the lock, and succeeds once it is SIGKILLed', { timeout: 60_000 }, async (t: TestContext) => {
  const file = tempFile();
  const db = await Engine.open(file, { busyTimeoutMs: BUSY_TIMEOUT_MS });
  let holder: ChildScript | null = null;
  t.after(async () => {
    holder?.kill();
    await db.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
  await db.createTopic(TOPIC);
  await db.append(TOPIC, 0, [record('before')]);

  holder = startChild('lock-holder.ts', ['raw', file]);
  await holder.waitForLine((l) => l === 'locked', LINE_TIMEOUT_MS);
  const started = Date.now();
  await assert.rejects(db.append(TOPIC, 0, [record('while locked')]), (err: unknown) => {
    assert.ok(err instanceof OnelogBusyError && err instanceof OnelogError, `expected OnelogBusyError, got ${String(err)}`);
    assert.equal(err.code, 'BUSY');
    assert.equal(err.retriable, true);
    return true;
  });
  assert.ok(Date.now() - started >= BUSY_TIMEOUT_MS, `BUSY came after ${Date.now() - started} ms, before the busy timeout of ${BUSY_TIMEOUT_MS} ms`);
  // Reading needs no lock.
  assert.deepEqual(readValues(db).map(String), ['before']);
  assert.equal(db.highWatermark(TOPIC, 0), 1);

  holder.kill();
  assert.equal((await holder.exited).signal, 'SIGKILL');
  const r = await db.append(TOPIC, 0, [record('after the kill')]);
  assert.equal(r.baseOffset, 1);
  assert.deepEqual(readValues(db).map(String), ['before', 'after the kill']);
});

test('a writer waiting for the lock gets it while another process appends continuously', { timeout: 120_000 }, async (t: TestContext) => {
  const file = tempFile();
  const db = await Engine.open(file, { busyTimeoutMs: FAIRNESS_BUSY_TIMEOUT_MS });
  let busy: ChildScript | null = null;
  t.after(async () => {
    busy?.kill();
    await db.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
  await db.createTopic(TOPIC);
  busy = startChild('lock-holder.ts', ['engine', file, TOPIC]);
  await busy.waitForLine((l) => l.startsWith('ack '), LINE_TIMEOUT_MS);
  // The waiter holds the pending byte, so the busy writer must let it in after its current commit instead
  // of keeping the lock for as long as it has appends queued (which ends in BUSY here).
  for (let i = 0; i < FAIRNESS_APPENDS; i++) {
    const r = await db.append(TOPIC, 0, [record(`waiter ${i}`)]);
    assert.equal(String(readValues(db)[r.baseOffset]), `waiter ${i}`);
    await sleep(10);
  }
  assert.equal(busy.process.exitCode, null, `the busy writer must still be running: ${busy.stderr()}`);
});

test('a writer SIGKILLed while holding the lock mid-append is recovered; its acknowledged appends are kept', { timeout: 120_000 }, async (t: TestContext) => {
  const file = tempFile();
  const db = await Engine.open(file, { busyTimeoutMs: 30_000, extentSize: 64 * 1024 });
  const children = new Set<ChildScript>();
  t.after(async () => {
    for (const child of children) child.kill();
    await db.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
  await db.createTopic(TOPIC, { configs: { 'max.message.bytes': String(64 * 1024) } });

  let killedHoldingLock = 0;
  let attempts = 0;
  for (let attempt = 0; attempt < KILL_ATTEMPTS && killedHoldingLock === 0; attempt++) {
    attempts++;
    let lastAcked = -1;
    const child = startChild('lock-holder.ts', ['engine', file, TOPIC], (line) => {
      if (line.startsWith('ack ')) lastAcked = Math.max(lastAcked, Number(line.slice(4)));
    });
    children.add(child);
    await child.waitForLine((l) => l.startsWith('ack '), LINE_TIMEOUT_MS);
    await sleep(5 + Math.floor(Math.random() * 45));
    child.kill();
    const exit = await child.exited;
    children.delete(child);
    assert.equal(exit.signal, 'SIGKILL', `the writer died on its own: ${child.stderr()}`);
    if (writerState(file) === 1) killedHoldingLock++;

    const seen = db.highWatermark(TOPIC, 0);
    assert.ok(seen > lastAcked, `highWatermark ${seen} must cover the last acknowledged offset ${lastAcked}`);
    const r = await db.append(TOPIC, 0, [record(`after kill ${attempt}`)]);
    assert.ok(r.baseOffset >= seen, `the append after recovery landed at ${r.baseOffset}, below the highWatermark ${seen}`);
    const values = readValues(db);
    assert.equal(values.length, r.lastOffset + 1);
    assert.equal(String(values[r.baseOffset]), `after kill ${attempt}`);
  }
  t.diagnostic(`${attempts} kill(s), ${killedHoldingLock} while the writer held the lock`);
  assert.ok(killedHoldingLock > 0, `none of ${KILL_ATTEMPTS} kills landed while the writer held the lock`);
});
