// Crash consistency under simulated power loss: a deterministic workload (concurrent producers over several
// partitions, an idempotent producer, topic creation and deletion, group commits, 64 KiB extents) is cut at
// its k-th fdatasync for every k, in each cut mode and for a few seeds; after each cut a fresh engine
// reopens the surviving image and everything acknowledged before the cut must be there, intact and in order.
// It tests the engine through its public API and the raw image only; it must not reach into engine internals.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '../../src/format/crc32c.ts';
import {
  DATA_START,
  HEADER_SIZE,
  SLOT_COUNT,
  SUPERBLOCK_POSITIONS,
  SUPERBLOCK_USED,
  decodeFileHeader,
  decodeSuperblock,
  type Superblock,
} from '../../src/format/file-layout.ts';
import { decodeMetadata, type DatabaseMeta } from '../../src/format/metadata.ts';
import { batchTotalSize, decodeRecords, encodeBatch, encodedBatchSize, readBatchHeader, verifyBatchCrc, type RecordInput } from '../../src/format/record-batch.ts';
import { Engine, type AppendResult, type EngineOptions } from '../../src/storage/engine.ts';
import { CUT_MODES, Prng, SimFileSystem, type CutMode, type UnsyncedWrite } from './helpers/sim-file-system.ts';

const PATH = '/sim/power-loss.onelog';
const EXTENT_SIZE = 64 * 1024;
const GROUP = 'g';
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

function engineOptions(sim: SimFileSystem): EngineOptions {
  return {
    fileSystem: sim,
    sync: 'batch',
    extentSize: EXTENT_SIZE,
    // No group-commit wait and a fixed clock keep every run of a seed identical up to the cut.
    groupCommitWindowMs: 0,
    checkpointBytes: 40 * 1024,
    clock: () => 1_767_225_600_000,
    topicDefaults: { 'max.message.bytes': String(EXTENT_SIZE) },
  };
}

// ---------------------------------------------------------------------------------------------------
// The plan: every append the workload will attempt, fixed per seed.

interface PlannedAppend {
  readonly id: number;
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly RecordInput[];
  /** Sequence of the idempotent producer's batch, or -1 for a plain append. */
  readonly sequence: number;
}

interface Plan {
  /** Random sizes over a-0 and a-1 (skewed per seed); this producer also commits group offsets. */
  readonly committer: readonly PlannedAppend[];
  /** Batches of one fixed size dividing the extent size into b-0, so its extents fill exactly. */
  readonly fixed: readonly PlannedAppend[];
  /** Into scratch (deleted afterwards, freeing extents for reuse), then into c (created after that). */
  readonly scratchThenC: readonly PlannedAppend[];
  /** The idempotent producer, into a-1. */
  readonly idempotent: readonly PlannedAppend[];
  readonly byId: ReadonlyMap<number, PlannedAppend>;
}

function makePlan(seed: number): Plan {
  const rng = new Prng(seed);
  const byId = new Map<number, PlannedAppend>();
  let nextId = 0;
  let sequence = 0;
  const record = (id: number, i: number, value: Buffer | null): RecordInput => ({
    key: Buffer.from(`${String(id)}:${String(i)}`),
    value,
    headers: rng.chance(0.3) ? [{ key: 'h', value: rng.bytes(rng.range(0, 20)) }] : [],
    timestamp: 1_767_225_600_000 + id * 10 + i,
  });
  const add = (topic: string, partition: number, records: RecordInput[], idempotent: boolean): PlannedAppend => {
    const planned: PlannedAppend = { id: nextId++, topic, partition, records, sequence: idempotent ? sequence : -1 };
    if (idempotent) sequence += records.length;
    byId.set(planned.id, planned);
    return planned;
  };
  const random = (topic: string, partition: number, idempotent = false): PlannedAppend => {
    const id = nextId;
    const records = Array.from({ length: rng.range(1, 6) }, (_, i) => {
      const roll = rng.next();
      const size = roll < 0.7 ? rng.range(0, 400) : roll < 0.95 ? rng.range(1000, 4000) : rng.range(8000, 16000);
      return record(id, i, rng.chance(0.05) ? null : rng.bytes(size));
    });
    return add(topic, partition, records, idempotent);
  };
  const fixedSize = rng.pick([4096, 8192, 16384]);
  const fixed = (): PlannedAppend => {
    const shape = record(nextId, 0, null);
    return add('b', 0, [{ ...shape, value: rng.bytes(valueSizeFor(shape, fixedSize)) }], false);
  };
  const skew = rng.next();
  return {
    committer: Array.from({ length: 36 }, () => random('a', rng.chance(skew) ? 0 : 1)),
    fixed: Array.from({ length: 36 }, fixed),
    scratchThenC: [...Array.from({ length: 16 }, () => random('scratch', rng.int(2))), ...Array.from({ length: 16 }, () => random('c', 0))],
    idempotent: Array.from({ length: 20 }, () => random('a', 1, true)),
    byId,
  };
}

/** The value size that makes a one-record batch of `shape` exactly `batchSize` bytes. */
function valueSizeFor(shape: RecordInput, batchSize: number): number {
  const size = (n: number): number => encodedBatchSize({ baseOffset: 0, records: [{ ...shape, value: Buffer.alloc(n) }] });
  let n = batchSize - size(0);
  while (size(n) > batchSize) n--;
  assert.equal(size(n), batchSize, `no value size makes a ${String(batchSize)}-byte batch`);
  return n;
}

function expectedBatch(planned: PlannedAppend, baseOffset: number, producerId: number): Buffer {
  const idempotent = planned.sequence >= 0;
  return encodeBatch({
    baseOffset,
    records: planned.records,
    producerId: idempotent ? producerId : -1,
    producerEpoch: idempotent ? 0 : -1,
    baseSequence: idempotent ? planned.sequence : -1,
  });
}

// ---------------------------------------------------------------------------------------------------
// The workload and its journal of what was attempted and acknowledged.

interface CommitAttempt {
  readonly offsets: ReadonlyMap<string, number>;
  acked: boolean;
}

interface Journal {
  readonly attempted: Set<number>;
  readonly acked: Map<number, AppendResult>;
  /** Topic operations requested ('create:a', 'delete:scratch') and those acknowledged. */
  readonly requested: Set<string>;
  readonly done: Set<string>;
  readonly commits: CommitAttempt[];
  /** The idempotent producer's id, once allocateProducerId resolved. */
  producerId: number;
}

function newJournal(): Journal {
  return { attempted: new Set(), acked: new Map(), requested: new Set(), done: new Set(), commits: [], producerId: -1 };
}

async function topicOp(journal: Journal, op: string, run: () => Promise<unknown>): Promise<void> {
  journal.requested.add(op);
  await run();
  journal.done.add(op);
}

async function appendPlanned(db: Engine, journal: Journal, a: PlannedAppend): Promise<void> {
  journal.attempted.add(a.id);
  const options = a.sequence >= 0 ? { producerId: journal.producerId, producerEpoch: 0, baseSequence: a.sequence } : {};
  journal.acked.set(a.id, await db.append(a.topic, a.partition, a.records, options));
}

/** End offset (lastOffset + 1) of the acknowledged appends of topic-partition `key`. */
function ackedEnd(plan: Plan, journal: Journal, key: string): number {
  let end = 0;
  for (const [id, r] of journal.acked) {
    const a = plan.byId.get(id)!;
    if (`${a.topic}-${String(a.partition)}` === key) end = Math.max(end, r.lastOffset + 1);
  }
  return end;
}

async function runWorkload(sim: SimFileSystem, plan: Plan, journal: Journal): Promise<void> {
  const db = await Engine.open(PATH, engineOptions(sim));
  await topicOp(journal, 'create:a', () => db.createTopic('a', { partitions: 2 }));
  await topicOp(journal, 'create:b', () => db.createTopic('b', { partitions: 1 }));
  await topicOp(journal, 'create:scratch', () => db.createTopic('scratch', { partitions: 2 }));
  journal.producerId = await db.allocateProducerId();
  const committer = async (): Promise<void> => {
    for (const [i, a] of plan.committer.entries()) {
      await appendPlanned(db, journal, a);
      if (i % 4 !== 3) continue;
      const offsets = new Map(['a-0', 'a-1'].map((key) => [key, ackedEnd(plan, journal, key)]));
      const attempt: CommitAttempt = { offsets, acked: false };
      journal.commits.push(attempt);
      await db.commitOffsets(GROUP, [...offsets].map(([key, offset]) => ({ topic: 'a', partition: Number(key.slice(2)), offset })));
      attempt.acked = true;
    }
  };
  const sequential = async (appends: readonly PlannedAppend[]): Promise<void> => {
    for (const a of appends) await appendPlanned(db, journal, a);
  };
  const scratchThenC = async (): Promise<void> => {
    for (const a of plan.scratchThenC) {
      if (a.topic === 'c' && !journal.requested.has('create:c')) {
        await topicOp(journal, 'delete:scratch', () => db.deleteTopic('scratch'));
        await topicOp(journal, 'create:c', () => db.createTopic('c', { partitions: 1 }));
      }
      await appendPlanned(db, journal, a);
    }
  };
  await Promise.all([committer(), sequential(plan.fixed), scratchThenC(), sequential(plan.idempotent)]);
  await db.close();
}

/** Runs the workload with a cut armed at sync `k`; 'completed' when it finished before reaching it. */
async function runUntilCut(sim: SimFileSystem, plan: Plan, journal: Journal, k: number, mode: CutMode): Promise<'cut' | 'completed'> {
  sim.armCut(k, mode);
  const cut = sim.nextCut().then(() => 'cut' as const);
  const work = runWorkload(sim, plan, journal).then(
    () => 'completed' as const,
    (err: unknown) => {
      if (sim.cutCount > 0) return 'cut' as const;
      throw err;
    },
  );
  const outcome = await Promise.race([cut, work]);
  if (outcome === 'completed') {
    assert.equal(sim.cutCount, 0, 'the workload completed although power was cut');
    sim.disarm();
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------------------
// Checks of the raw image: the newest checkpoint must be whole and self-consistent.

function bytesAt(image: Buffer, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  if (position < image.length) image.copy(out, 0, position, Math.min(image.length, position + length));
  return out;
}

function checkImage(image: Buffer, where: string): DatabaseMeta {
  const header = decodeFileHeader(bytesAt(image, 0, HEADER_SIZE), where);
  const extentStart = (index: number): number => DATA_START + index * header.extentSize;
  // As the engine loads it: the newest valid superblock whose blob checks out (a superblock can reach the
  // disk without its blob, as they are written without a sync between them).
  const checkpoints = SUPERBLOCK_POSITIONS.map((p) => decodeSuperblock(bytesAt(image, p, SUPERBLOCK_USED)))
    .filter((sb): sb is Superblock => sb !== null && sb.metaLength > 0 && sb.metaLength <= header.extentSize)
    .filter((sb) => crc32c(bytesAt(image, sb.metaPosition, sb.metaLength)) === sb.metaCrc)
    .sort((x, y) => y.sequence - x.sequence);
  const sb = checkpoints[0];
  assert.ok(sb !== undefined, `${where}: no superblock names a metadata blob that is on disk`);
  const meta = decodeMetadata(bytesAt(image, sb.metaPosition, sb.metaLength), sb.metaPosition);
  assert.equal(meta.extentCount, sb.extentCount, `${where}: superblock and metadata disagree on extentCount`);
  const owners = new Map<number, string>();
  const claim = (index: number, owner: string): void => {
    assert.ok(Number.isInteger(index) && index >= 0 && index < meta.extentCount, `${where}: ${owner} names extent ${String(index)}, outside 0..${String(meta.extentCount - 1)}`);
    const previous = owners.get(index);
    assert.equal(previous, undefined, `${where}: extent ${String(index)} is claimed by both ${String(previous)} and ${owner}`);
    owners.set(index, owner);
  };
  claim(meta.metaExtent, 'the metadata');
  assert.ok(
    sb.metaPosition >= extentStart(meta.metaExtent) && sb.metaPosition + sb.metaLength <= extentStart(meta.metaExtent) + header.extentSize,
    `${where}: the metadata blob lies outside the meta extent ${String(meta.metaExtent)}`,
  );
  for (const index of meta.freeExtents) claim(index, 'the free list');
  const uids = new Set<number>();
  const slots = new Set<number>();
  for (const t of meta.topics) {
    t.partitions.forEach((p, i) => {
      const name = `${t.name}-${String(i)}`;
      assert.ok(!uids.has(p.uid) && p.uid < meta.nextPartitionUid, `${where}: ${name} has a duplicate or future uid ${String(p.uid)}`);
      assert.ok(!slots.has(p.slot) && p.slot >= 1 && p.slot < SLOT_COUNT, `${where}: ${name} has a duplicate or invalid slot ${String(p.slot)}`);
      uids.add(p.uid);
      slots.add(p.slot);
      for (const [index] of p.extents) claim(index, name);
      // The checkpoint records the durable tail: 0 before the first durable batch, else inside one of the
      // partition's extents (not necessarily the last: later extents may still be empty).
      assert.ok(
        p.tailPosition === 0 || p.extents.some(([index]) => p.tailPosition >= extentStart(index) && p.tailPosition <= extentStart(index) + header.extentSize),
        `${where}: ${name}'s tail ${String(p.tailPosition)} lies in none of its extents`,
      );
    });
  }
  for (let index = 0; index < meta.extentCount; index++) assert.ok(owners.has(index), `${where}: extent ${String(index)} is neither used nor free (leaked)`);
  return meta;
}

// ---------------------------------------------------------------------------------------------------
// Checks through a reopened engine.

interface StoredBatch {
  readonly offset: number;
  readonly bytes: Buffer;
}

/** Reads a partition from logStartOffset to highWatermark, checking every batch and contiguity. */
function readPartition(db: Engine, topic: string, partition: number, maxBytes: number, where: string): StoredBatch[] {
  const out: StoredBatch[] = [];
  const hw = db.highWatermark(topic, partition);
  let offset = db.logStartOffset(topic, partition);
  while (offset < hw) {
    const res = db.read(topic, partition, offset, { maxBytes });
    assert.ok(res.records.length > 0, `${where}: ${topic}-${String(partition)} returned nothing at ${String(offset)} below hw ${String(hw)}`);
    let pos = 0;
    while (pos < res.records.length) {
      const size = batchTotalSize(res.records, pos);
      assert.ok(size > 0 && pos + size <= res.records.length, `${where}: a partial batch was returned`);
      assert.ok(verifyBatchCrc(res.records, pos), `${where}: batch at offset ${String(offset)} fails its CRC`);
      decodeRecords(res.records, pos);
      const header = readBatchHeader(res.records, pos);
      assert.equal(header.baseOffset, offset, `${where}: ${topic}-${String(partition)} offsets are not contiguous`);
      out.push({ offset, bytes: Buffer.from(res.records.subarray(pos, pos + size)) });
      offset = header.baseOffset + header.lastOffsetDelta + 1;
      pos += size;
    }
    assert.equal(res.nextOffset, offset, `${where}: read's nextOffset disagrees with the batches returned`);
  }
  assert.equal(offset, hw, `${where}: ${topic}-${String(partition)} ends past its highWatermark`);
  return out;
}

type Expectation = 'present' | 'absent' | 'either';

function topicExpectation(journal: Journal, name: string): Expectation {
  const created = journal.done.has(`create:${name}`) ? 'present' : journal.requested.has(`create:${name}`) ? 'either' : 'absent';
  if (journal.done.has(`delete:${name}`)) return 'absent';
  if (journal.requested.has(`delete:${name}`)) return created === 'absent' ? 'absent' : 'either';
  return created;
}

async function verifyAfterCut(sim: SimFileSystem, plan: Plan, journal: Journal, where: string): Promise<void> {
  const meta = checkImage(sim.image(PATH), `${where} (image after the cut)`);
  const db = await Engine.open(PATH, engineOptions(sim));
  const topics = db.listTopics();
  assert.deepEqual(
    topics.map((t) => t.name),
    meta.topics.map((t) => t.name).sort(),
    `${where}: the engine's topics differ from the newest checkpoint's`,
  );
  const partitionsOf = new Map(topics.map((t) => [t.name, t.partitions]));
  for (const [name, partitions] of [['a', 2], ['b', 1], ['scratch', 2], ['c', 1]] as const) {
    const expectation = topicExpectation(journal, name);
    const count = partitionsOf.get(name);
    if (expectation === 'present') assert.equal(count, partitions, `${where}: topic ${name}, acknowledged, is missing or wrong`);
    if (expectation === 'absent') assert.equal(count, undefined, `${where}: topic ${name} exists though it should not`);
    if (count !== undefined) assert.equal(count, partitions, `${where}: topic ${name} has ${String(count)} partitions`);
  }

  // Every batch stored is one the workload attempted, stored whole, exactly once, at contiguous offsets.
  const foundAt = new Map<number, number>();
  const highWatermarks = new Map<string, number>();
  for (const t of topics) {
    for (let p = 0; p < t.partitions; p++) {
      const key = `${t.name}-${String(p)}`;
      const batches = readPartition(db, t.name, p, foundAt.size % 2 === 0 ? 1 : 1024 * 1024, `${where} ${key}`);
      highWatermarks.set(key, db.highWatermark(t.name, p));
      for (const b of batches) {
        const records = decodeRecords(b.bytes, 0);
        const id = Number(records[0]!.key!.toString().split(':')[0]);
        const planned = plan.byId.get(id);
        assert.ok(planned !== undefined && journal.attempted.has(id), `${where}: ${key} holds a batch at ${String(b.offset)} that was never appended`);
        assert.equal(`${planned.topic}-${String(planned.partition)}`, key, `${where}: append ${String(id)} landed in the wrong partition`);
        assert.ok(!foundAt.has(id), `${where}: append ${String(id)} is stored twice`);
        assert.ok(b.bytes.equals(expectedBatch(planned, b.offset, journal.producerId)), `${where}: append ${String(id)} at ${String(b.offset)} is not byte-exact`);
        foundAt.set(id, b.offset);
      }
    }
  }
  for (const [id, ack] of journal.acked) {
    const planned = plan.byId.get(id)!;
    if (!partitionsOf.has(planned.topic) && topicExpectation(journal, planned.topic) !== 'present') continue;
    assert.equal(foundAt.get(id), ack.baseOffset, `${where}: acknowledged append ${String(id)} (${planned.topic}-${String(planned.partition)} @${String(ack.baseOffset)}) is lost`);
  }

  // Group offsets: the last acknowledged commit, or a later attempted one, and never past the data.
  const fetched = new Map(db.fetchOffsets(GROUP).map((o) => [`${o.topic}-${String(o.partition)}`, o.offset]));
  for (const key of ['a-0', 'a-1']) {
    const lastAcked = journal.commits.findLastIndex((c) => c.acked);
    const allowed = journal.commits.slice(Math.max(0, lastAcked)).map((c) => c.offsets.get(key)!);
    const value = fetched.get(key);
    if (lastAcked >= 0) assert.ok(value !== undefined, `${where}: the acknowledged commit of ${key} is lost`);
    if (value !== undefined) {
      assert.ok(allowed.includes(value), `${where}: ${key} committed offset ${String(value)} is not the last acknowledged one or a later one (${allowed.join(', ')})`);
      assert.ok(value <= highWatermarks.get(key)!, `${where}: ${key} committed offset ${String(value)} is past the recovered data`);
    }
  }

  // The idempotent producer: a retry of its last acknowledged batch is a duplicate; a retry of an
  // unacknowledged one returns where it is stored, or appends it at the end when it was lost.
  if (journal.producerId >= 0 && partitionsOf.has('a')) {
    const sent = plan.idempotent.filter((a) => journal.attempted.has(a.id));
    const lastAcked = sent.findLast((a) => journal.acked.has(a.id));
    if (lastAcked !== undefined) {
      const retry = await db.append('a', 1, lastAcked.records, { producerId: journal.producerId, producerEpoch: 0, baseSequence: lastAcked.sequence });
      assert.equal(retry.baseOffset, journal.acked.get(lastAcked.id)!.baseOffset, `${where}: the retried acknowledged batch was not recognised as a duplicate`);
    }
    const unacked = sent.at(-1);
    if (unacked !== undefined && !journal.acked.has(unacked.id)) {
      const hw = db.highWatermark('a', 1);
      const retry = await db.append('a', 1, unacked.records, { producerId: journal.producerId, producerEpoch: 0, baseSequence: unacked.sequence });
      assert.equal(retry.baseOffset, foundAt.get(unacked.id) ?? hw, `${where}: the retried unacknowledged batch was not deduplicated or appended at the end`);
    }
    const newId = await db.allocateProducerId();
    assert.ok(newId > journal.producerId, `${where}: producer id ${String(journal.producerId)} was handed out again`);
  }

  // A new append lands at the highWatermark and reads back.
  const target = topics[0];
  if (target !== undefined) {
    const hw = db.highWatermark(target.name, 0);
    const records: RecordInput[] = [{ key: Buffer.from('after'), value: Buffer.from('recovery'), headers: [], timestamp: 1 }];
    const res = await db.append(target.name, 0, records);
    assert.equal(res.baseOffset, hw, `${where}: the first append after recovery did not land at the highWatermark`);
    const back = db.read(target.name, 0, hw);
    assert.ok(back.records.equals(encodeBatch({ baseOffset: hw, records })), `${where}: the first append after recovery does not read back`);
  }
  await db.close();
  checkImage(sim.image(PATH), `${where} (image after recovery and close)`);
}

// ---------------------------------------------------------------------------------------------------

/**
 * Runs the workload of `seed` with a cut at its k-th fdatasync, for k = 1, 2, … until it completes before
 * reaching k, checking each surviving image with `afterCut`. Returns the number of crash points and every
 * failure (all of them, so one report shows each broken crash point).
 */
async function crashAtEverySync(
  seed: number,
  mode: CutMode,
  afterCut: (sim: SimFileSystem, journal: Journal, where: string) => Promise<void>,
): Promise<{ points: number; failures: string[] }> {
  const plan = makePlan(seed);
  const failures: string[] = [];
  for (let k = 1; ; k++) {
    const sim = new SimFileSystem(seed * 100_000 + k);
    const journal = newJournal();
    const outcome = await runUntilCut(sim, plan, journal, k, mode);
    if (outcome === 'completed') return { points: k - 1, failures };
    const where = `seed ${String(seed)}, ${mode}, cut at sync ${String(k)}`;
    try {
      await afterCut(sim, journal, where);
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      failures.push(err instanceof assert.AssertionError ? message : `${where}: ${message}`);
    }
  }
}

function assertNoFailures(failures: readonly string[]): void {
  const shown = failures.slice(0, 25).join('\n');
  assert.equal(failures.length, 0, `${String(failures.length)} crash points lost or damaged acknowledged data:\n${shown}${failures.length > 25 ? '\n…' : ''}`);
}

for (const mode of CUT_MODES) {
  test(`power cut at every fdatasync (${mode}) loses nothing acknowledged`, async () => {
    const failures: string[] = [];
    for (const seed of SEEDS) {
      const plan = makePlan(seed);
      const run = await crashAtEverySync(seed, mode, (sim, journal, where) => verifyAfterCut(sim, plan, journal, where));
      assert.ok(run.points > 40, `the workload of seed ${String(seed)} made only ${String(run.points)} fdatasyncs`);
      failures.push(...run.failures);
    }
    assertNoFailures(failures);
  });
}

test('a second power cut during recovery loses nothing acknowledged', async () => {
  const seed = SEEDS[0]!;
  const plan = makePlan(seed);
  const rng = new Prng(seed);
  const run = await crashAtEverySync(seed, 'keep-some', async (sim, journal, where) => {
    // Cut at one of the first fdatasyncs of recovery, then recover once more.
    const cuts = sim.cutCount;
    sim.armCut(sim.syncCount + rng.range(1, 2), rng.pick(CUT_MODES));
    const opened = await Engine.open(PATH, engineOptions(sim)).then(
      (db) => db,
      (err: unknown) => {
        assert.ok(sim.cutCount > cuts, `${where}: recovery failed without a cut: ${String(err)}`);
        return null;
      },
    );
    if (opened !== null) {
      sim.disarm();
      await opened.close();
    }
    await verifyAfterCut(sim, plan, journal, `${where}, then cut during recovery`);
  });
  assertNoFailures(run.failures);
});

// ---------------------------------------------------------------------------------------------------
// Targeted scenarios: a partition whose extents are not in file order, so that the end of one of its
// extents is the start of another of them, and checkpoints that describe more than is durable.

interface Written {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly RecordInput[];
  readonly result: AppendResult;
}

const scenarioRng = new Prng(99);

function batchOf(tag: string, valueSize: number): RecordInput[] {
  return [{ key: Buffer.from(tag), value: scenarioRng.bytes(valueSize), headers: [], timestamp: 1_767_225_600_000 }];
}

async function appendTo(db: Engine, written: Written[], topic: string, records: RecordInput[], partition = 0): Promise<void> {
  written.push({ topic, partition, records, result: await db.append(topic, partition, records) });
}

/** Lets the engine finish what the last acknowledgement scheduled (publishing, releasing its lock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Every partition reads cleanly and every acknowledged append reads back byte for byte. */
function assertReadable(db: Engine, written: readonly Written[], where: string): void {
  for (const t of db.listTopics()) for (let p = 0; p < t.partitions; p++) readPartition(db, t.name, p, 1024 * 1024, `${where} ${t.name}-${String(p)}`);
  for (const w of written) {
    const what = `${where}: acknowledged append ${w.topic}-${String(w.partition)} @${String(w.result.baseOffset)}`;
    assert.ok(db.highWatermark(w.topic, w.partition) > w.result.lastOffset, `${what} is past the highWatermark`);
    const res = db.read(w.topic, w.partition, w.result.baseOffset, { maxBytes: 1 });
    assert.ok(res.records.equals(encodeBatch({ baseOffset: w.result.baseOffset, records: w.records })), `${what} does not read back`);
  }
}

/** A rule for a cut: the metadata area (header to the end of extent 0, the meta extent) reaches the disk, no data does. */
function metadataOnly(write: UnsyncedWrite): boolean {
  return write.position < DATA_START + EXTENT_SIZE;
}

const SCENARIO_VALUE = 30_000;

test('a crash after an allocation checkpoint recorded the tail at the new extent start keeps every append', async () => {
  const sim = new SimFileSystem(11);
  const db = await Engine.open(PATH, engineOptions(sim));
  const written: Written[] = [];
  await db.createTopic('s');
  await db.createTopic('p');
  await db.append('s', 0, batchOf('s', 1000)); // s takes extent 1
  await appendTo(db, written, 'p', batchOf('p0', 1000)); // p takes extent 2
  await db.deleteTopic('s'); // extent 1 is free again
  for (let i = 1; i <= 4; i++) await appendTo(db, written, 'p', batchOf(`p${String(i)}`, SCENARIO_VALUE)); // p: [2, 1]
  // One round: a checkpoint, then an append that needs a new extent (3). The allocation checkpoint first
  // makes the previous one durable, and so records p's tail as the start of extent 3: the end of extent 2.
  const commit = db.commitOffsets(GROUP, [{ topic: 'p', partition: 0, offset: 1 }]);
  const append = appendTo(db, written, 'p', batchOf('p5', SCENARIO_VALUE));
  await Promise.all([commit, append]);
  await settle();
  sim.powerCut('drop-all'); // everything acknowledged is durable: this is a plain process crash
  const reopened = await Engine.open(PATH, engineOptions(sim));
  assertReadable(reopened, written, 'after the crash');
  await reopened.close();
});

test('a partition whose last extent fills exactly, ending where its first extent begins, reads and reopens intact', async () => {
  const sim = new SimFileSystem(12);
  const db = await Engine.open(PATH, engineOptions(sim));
  const written: Written[] = [];
  await db.createTopic('s', { partitions: 2 });
  await db.createTopic('p');
  await db.append('s', 0, batchOf('s0', 100)); // extent 1
  await db.append('s', 1, batchOf('s1', 100)); // extent 2
  const fixed = (i: number): RecordInput[] => {
    const tag = `p${String(i).padStart(3, '0')}`;
    return batchOf(tag, valueSizeFor(batchOf(tag, 0)[0]!, 8192));
  };
  await appendTo(db, written, 'p', fixed(0)); // extent 3
  await db.deleteTopic('s'); // extents 1 and 2 are free
  // Eight 8 KiB batches fill an extent exactly: p becomes [3, 1, 2], and its tail, the end of extent 2, is
  // also the start of extent 3.
  for (let i = 1; i < 24; i++) await appendTo(db, written, 'p', fixed(i));
  assertReadable(db, written, 'before closing');
  await db.close();
  const reopened = await Engine.open(PATH, engineOptions(sim));
  assertReadable(reopened, written, 'after reopening');
  await reopened.close();
});

test('a cut that keeps the checkpoint naming a reused extent but not the batch written into it keeps every append', async () => {
  // The reused extent (2) starts where the partition's first extent (1) ends; recovery stops at its start.
  for (let j = 1; j <= 4; j++) {
    const sim = new SimFileSystem(20 + j);
    const db = await Engine.open(PATH, engineOptions(sim));
    const written: Written[] = [];
    await db.createTopic('p');
    await db.createTopic('s');
    await appendTo(db, written, 'p', batchOf('p0', SCENARIO_VALUE)); // p takes extent 1
    await db.append('s', 0, batchOf('s', 1000)); // s takes extent 2
    await appendTo(db, written, 'p', batchOf('p1', SCENARIO_VALUE));
    await appendTo(db, written, 'p', batchOf('p2', SCENARIO_VALUE)); // p takes extent 3
    await db.deleteTopic('s'); // extent 2 is free
    await appendTo(db, written, 'p', batchOf('p3', SCENARIO_VALUE));
    await settle();
    // The next append takes extent 2 (zeroed and synced), names it in a checkpoint and writes into it.
    sim.armCut(sim.syncCount + j, metadataOnly);
    const cut = sim.nextCut().then(() => 'cut' as const);
    const append = appendTo(db, written, 'p', batchOf('p4', SCENARIO_VALUE)).then(() => 'done' as const, () => 'done' as const);
    if ((await Promise.race([cut, append])) === 'done') {
      // The append completed in fewer fdatasyncs than j: every cut point was covered.
      sim.disarm();
      await db.close();
      break;
    }
    const reopened = await Engine.open(PATH, engineOptions(sim));
    assertReadable(reopened, written, `cut at the ${String(j)}. fdatasync of the append into the reused extent`);
    await reopened.close();
  }
});

test('a retried idempotent batch whose bytes were lost is appended again, not acknowledged as a duplicate', async () => {
  for (let j = 1; j <= 4; j++) {
    const sim = new SimFileSystem(30 + j);
    const db = await Engine.open(PATH, engineOptions(sim));
    await db.createTopic('t');
    const producerId = await db.allocateProducerId();
    const idempotent = (sequence: number) => ({ producerId, producerEpoch: 0, baseSequence: sequence });
    for (let s = 0; s < 3; s++) await db.append('t', 0, batchOf(`i${String(s)}`, 100), idempotent(s));
    await settle();
    // One round: the batch with sequence 3, then a checkpoint that records the producer's state. The cut
    // keeps the checkpoint and loses the batch.
    sim.armCut(sim.syncCount + j, metadataOnly);
    const cut = sim.nextCut().then(() => 'cut' as const);
    const lost = batchOf('i3', 100);
    const round = Promise.all([db.append('t', 0, lost, idempotent(3)), db.commitOffsets(GROUP, [{ topic: 't', partition: 0, offset: 3 }])]).then(
      () => 'done' as const,
      () => 'done' as const,
    );
    if ((await Promise.race([cut, round])) === 'done') {
      sim.disarm();
      await db.close();
      break;
    }
    const reopened = await Engine.open(PATH, engineOptions(sim));
    const stored = readPartition(reopened, 't', 0, 1024 * 1024, 'after the cut');
    const found = stored.find((b) => decodeRecords(b.bytes, 0)[0]!.key!.toString() === 'i3');
    const hw = reopened.highWatermark('t', 0);
    const retry = await reopened.append('t', 0, lost, idempotent(3));
    assert.equal(retry.baseOffset, found?.offset ?? hw, `cut at the ${String(j)}. fdatasync: the retry was acknowledged at an offset that does not hold it`);
    assert.ok(reopened.highWatermark('t', 0) > retry.lastOffset, 'the retried batch is not stored');
    await reopened.close();
  }
});
