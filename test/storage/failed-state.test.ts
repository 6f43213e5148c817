// The failed state: when an fdatasync fails, the appends and requests waiting on it reject with code FAILED,
// every later call rejects or throws FAILED, and a new engine on the same file (the same simulated disk)
// recovers with every append acknowledged before the failure, also after a later power cut. It drives the
// engine through its public API on the power-loss simulator; it must not reach into engine internals.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnelogError } from '../../src/errors.ts';
import { decodeRecords, encodeBatch, type RecordInput } from '../../src/format/record-batch.ts';
import { Engine, type AppendResult, type EngineOptions } from '../../src/storage/engine.ts';
import { Prng, SimFileSystem } from './helpers/sim-file-system.ts';

const PATH = '/sim/failed-state.onelog';
const EXTENT_SIZE = 64 * 1024;

function options(sim: SimFileSystem): EngineOptions {
  return { fileSystem: sim, sync: 'batch', extentSize: EXTENT_SIZE, groupCommitWindowMs: 0, topicDefaults: { 'max.message.bytes': String(EXTENT_SIZE), 'retention.ms': '-1' } };
}

function isFailed(err: unknown): boolean {
  return err instanceof OnelogError && err.code === 'FAILED';
}

const rng = new Prng(7);

function records(tag: string, size: number): RecordInput[] {
  return [{ key: Buffer.from(tag), value: rng.bytes(size), headers: [], timestamp: 1_767_225_600_000 }];
}

interface Acked {
  readonly topic: string;
  readonly partition: number;
  readonly records: RecordInput[];
  readonly result: AppendResult;
}

async function appendAcked(db: Engine, topic: string, partition: number, recs: RecordInput[], into: Acked[]): Promise<void> {
  into.push({ topic, partition, records: recs, result: await db.append(topic, partition, recs) });
}

/** Every acknowledged append reads back byte for byte at its offset. */
function assertAllPresent(db: Engine, acked: readonly Acked[], where: string): void {
  for (const a of acked) {
    assert.ok(db.highWatermark(a.topic, a.partition) > a.result.lastOffset, `${where}: ${a.topic}-${String(a.partition)} @${String(a.result.baseOffset)} is past the highWatermark`);
    const res = db.read(a.topic, a.partition, a.result.baseOffset, { maxBytes: 1 });
    assert.ok(res.records.equals(encodeBatch({ baseOffset: a.result.baseOffset, records: a.records })), `${where}: ${a.topic}-${String(a.partition)} @${String(a.result.baseOffset)} does not read back`);
  }
}

/** Every batch stored in `topic` is whole and carries one of the keys appended there. */
function assertOnlyAppended(db: Engine, topic: string, partitions: number, keys: ReadonlySet<string>, where: string): void {
  for (let p = 0; p < partitions; p++) {
    let offset = db.logStartOffset(topic, p);
    while (offset < db.highWatermark(topic, p)) {
      const res = db.read(topic, p, offset, { maxBytes: 1 });
      const [first] = decodeRecords(res.records, 0);
      assert.ok(first !== undefined && keys.has(first.key!.toString()), `${where}: ${topic}-${String(p)} @${String(offset)} holds a batch never appended`);
      offset = res.nextOffset;
    }
  }
}

/** Settles `p` into a flag, so a test can tell a promise that never settles from one that failed. */
function track(p: Promise<unknown>): { settled: boolean; error: unknown } {
  const state: { settled: boolean; error: unknown } = { settled: false, error: undefined };
  p.then(
    () => (state.settled = true),
    (err: unknown) => {
      state.settled = true;
      state.error = err;
    },
  );
  return state;
}

/** Lets the engine run what it scheduled: a few turns of the event loop. */
async function idle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('a failed group-commit fdatasync fails its appends and every later call with FAILED', async () => {
  const sim = new SimFileSystem(1);
  const db = await Engine.open(PATH, options(sim));
  await db.createTopic('t', { partitions: 2 });
  const acked: Acked[] = [];
  for (let i = 0; i < 6; i++) await appendAcked(db, 't', i % 2, records(`ok-${String(i)}`, 3000), acked);
  await db.commitOffsets('g', [{ topic: 't', partition: 0, offset: 2 }]);

  sim.armSyncFailure(sim.syncCount + 1);
  const failing = [0, 1, 0].map((p, i) => db.append('t', p, records(`failing-${String(i)}`, 500)));
  for (const f of failing) await assert.rejects(f, isFailed);

  await assert.rejects(db.append('t', 0, records('later', 10)), isFailed);
  await assert.rejects(db.commitOffsets('g', [{ topic: 't', partition: 0, offset: 3 }]), isFailed);
  await assert.rejects(db.createTopic('u'), isFailed);
  await assert.rejects(db.allocateProducerId(), isFailed);
  assert.throws(() => db.read('t', 0, 0), isFailed);
  assert.throws(() => db.highWatermark('t', 0), isFailed);
  assert.throws(() => db.listTopics(), isFailed);
  assert.throws(() => db.fetchOffsets('g'), isFailed);
  await db.close();

  const reopened = await Engine.open(PATH, options(sim));
  assertAllPresent(reopened, acked, 'after reopening');
  const keys = new Set([...acked.map((a) => a.records[0]!.key!.toString()), 'failing-0', 'failing-1', 'failing-2']);
  assertOnlyAppended(reopened, 't', 2, keys, 'after reopening');
  assert.deepEqual(
    reopened.fetchOffsets('g').map((o) => [o.topic, o.partition, o.offset]),
    [['t', 0, 2]],
  );
  const hw = reopened.highWatermark('t', 1);
  const after = await reopened.append('t', 1, records('after', 100));
  assert.equal(after.baseOffset, hw);
  await reopened.close();
});

test('a second engine opened beside the failed one sees every acknowledged append and can write', async () => {
  const sim = new SimFileSystem(2);
  const db = await Engine.open(PATH, options(sim));
  await db.createTopic('t');
  const acked: Acked[] = [];
  for (let i = 0; i < 5; i++) await appendAcked(db, 't', 0, records(`ok-${String(i)}`, 2000), acked);
  sim.armSyncFailure(sim.syncCount + 1);
  await assert.rejects(db.append('t', 0, records('failing', 100)), isFailed);

  const other = await Engine.open(PATH, options(sim));
  assertAllPresent(other, acked, 'beside the failed engine');
  await appendAcked(other, 't', 0, records('other', 100), acked);
  assertAllPresent(other, acked, 'after the other engine wrote');
  await other.close();
  await db.close();
});

/** A request of the workload below, with how it ended (or that it has not yet). */
interface Tracked {
  readonly name: string;
  readonly state: { settled: boolean; error: unknown };
}

/**
 * Waits until `work` settles; fails when the engine stops making progress first (no fdatasync, no request
 * settling, over many turns of the event loop): some request would then never settle.
 */
async function settleOrStall(work: Promise<unknown>, sim: SimFileSystem, tracked: readonly Tracked[], where: string): Promise<void> {
  let done = false;
  void work.finally(() => (done = true));
  const finished = (): boolean => done;
  const progress = (): string => `${String(sim.syncCount)}/${String(tracked.length)}/${String(tracked.filter((t) => t.state.settled).length)}`;
  let last = '';
  while (!finished()) {
    const before = progress();
    await idle();
    await idle();
    const now = progress();
    if (!finished() && now === before && now === last) {
      const stuck = tracked.filter((t) => !t.state.settled).map((t) => t.name);
      assert.fail(`${where}: the engine stopped with requests that never settle: ${stuck.join(', ')}`);
    }
    last = now;
  }
}

/**
 * A workload touching every kind of fdatasync the engine makes (group commits, the zeroing of a reused
 * extent, checkpoints, close), with the k-th fdatasync failing. Returns false when it made fewer than k.
 */
async function failAtSync(sim: SimFileSystem, k: number): Promise<boolean> {
  const where = `fdatasync ${String(k)} failing`;
  sim.armSyncFailure(k);
  const tracked: Tracked[] = [];
  const acked: Acked[] = [];
  const op = <T>(name: string, p: Promise<T>): Promise<T> => {
    tracked.push({ name, state: track(p) });
    return p;
  };
  let db: Engine;
  try {
    db = await Engine.open(PATH, options(sim));
  } catch (err) {
    assert.ok(sim.syncCount >= k, `${where}: open failed without the failure: ${String(err)}`);
    assert.ok(err instanceof OnelogError, `${where}: open rejected with a non-OnelogError: ${String(err)}`);
    return true;
  }
  const workload = async (): Promise<void> => {
    await op('create t', db.createTopic('t', { partitions: 2 }));
    await op('create doomed', db.createTopic('doomed'));
    await op('append doomed', db.append('doomed', 0, records('doomed', 30_000)));
    const producer = async (p: number): Promise<void> => {
      for (let i = 0; i < 12; i++) {
        const recs = records(`p${String(p)}-${String(i)}`, 3000 + i * 1500);
        const result = await op(`append t-${String(p)} #${String(i)}`, db.append('t', p, recs));
        acked.push({ topic: 't', partition: p, records: recs, result });
      }
    };
    const admin = async (): Promise<void> => {
      await op('commit 1', db.commitOffsets('g', [{ topic: 't', partition: 0, offset: 0 }]));
      await op('delete doomed', db.deleteTopic('doomed'));
      await op('commit 2', db.commitOffsets('g', [{ topic: 't', partition: 1, offset: 0 }]));
    };
    const results = await Promise.allSettled([producer(0), producer(1), admin()]);
    const failure = results.find((r) => r.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    await op('close', db.close());
  };
  const work = workload();
  await settleOrStall(work.catch(() => undefined), sim, tracked, where);
  if (sim.syncCount < k) {
    await work;
    return false;
  }
  for (const t of tracked) {
    if (t.state.error !== undefined) assert.ok(isFailed(t.state.error), `${where}: ${t.name} rejected with ${t.state.error instanceof Error ? t.state.error.message : 'a non-error'}, not FAILED`);
  }
  if (!tracked.some((t) => t.name === 'close' && t.state.settled)) {
    assert.throws(() => db.listTopics(), isFailed, `${where}: the engine is not in the failed state`);
    await settleOrStall(op('close', db.close()), sim, tracked, `${where}, closing`);
  }
  const reopened = await Engine.open(PATH, options(sim));
  assertAllPresent(reopened, acked, `${where}, after reopening`);
  await reopened.close();
  return true;
}

test('an fdatasync failing at any point settles every request, FAILED or done, and loses nothing acknowledged', async () => {
  const failures: string[] = [];
  let k = 1;
  for (; ; k++) {
    const sim = new SimFileSystem(100 + k);
    try {
      if (!(await failAtSync(sim, k))) break;
    } catch (err) {
      failures.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
      if (sim.syncCount < k) break;
    }
  }
  assert.ok(k > 15, `the workload made only ${String(k - 1)} fdatasyncs`);
  assert.deepEqual(failures, [], `${String(failures.length)} failure points broke the failed-state contract:\n${failures.join('\n')}`);
});

test('after a failed fdatasync, a reopened engine does not build on bytes that never reached the disk', async () => {
  const sim = new SimFileSystem(5);
  const db = await Engine.open(PATH, options(sim));
  await db.createTopic('t');
  const acked: Acked[] = [];
  for (let i = 0; i < 3; i++) await appendAcked(db, 't', 0, records(`ok-${String(i)}`, 1000), acked);
  // The failed fdatasync drops the append's bytes from write-back, as Linux does: they stay readable from
  // the page cache, but never reach the disk.
  sim.armSyncFailure(sim.syncCount + 1);
  await assert.rejects(db.append('t', 0, records('lost', 1000)), isFailed);
  await db.close();

  const reopened = await Engine.open(PATH, options(sim));
  for (let i = 0; i < 3; i++) await appendAcked(reopened, 't', 0, records(`later-${String(i)}`, 1000), acked);
  assertAllPresent(reopened, acked, 'after reopening');
  await idle();
  sim.powerCut('drop-all');

  const recovered = await Engine.open(PATH, options(sim));
  assertAllPresent(recovered, acked, 'after a power cut');
  await recovered.close();
});
