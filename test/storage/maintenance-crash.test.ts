// Maintenance crash loop (issue #7): a child writer (helpers/maintenance-writer.ts) runs compaction,
// retention, DeleteRecords, topic deletion and vacuum all at once among acknowledged appends and is
// SIGKILLed at varied moments, 100 times, several times per database file (two of a file's ten kills wait
// until a compaction or a vacuum call has completed with work, then come a few ms later). After every
// kill this process opens the file (recovering it) and checks: no extent leaked, verify finds no damage,
// the compacted topic still holds every acknowledged latest value per key (or a newer record of the key;
// a deleted key never comes back), the delete topic holds every acknowledged batch at or above its
// logStartOffset byte for byte, the keep topic every acknowledged batch; what recovery kept counts as
// acknowledged from then on, for the later kills on the same file. A file's last kill is followed by a
// vacuum here that must leave no free extent and nothing past the last extent. Compaction, retention and
// vacuum must each be seen to have done work. It tests recovery, not speed: nothing here asserts on timing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { DATA_START } from '../../src/format/file-layout.ts';
import { batchTotalSize, decodeRecords, encodeBatch } from '../../src/format/record-batch.ts';
import { verifyDatabase } from '../../src/storage/verify.ts';
import { sleep, startChild, type ChildScript } from './helpers/child-script.ts';
import { CRASH_ENGINE_OPTIONS, CRASH_EXTENT_SIZE, CRASH_PARTITIONS, ID_HEADER, crashBatch, formatBatchId, parseBatchId } from './helpers/crash-records.ts';
import { assertAccounted } from './helpers/extent-accounting.ts';
import { batchesFrom } from './helpers/read-back.ts';
import { COMPACT_TOPIC, DELETE_TOPIC, KEEP_TOPIC, RETENTION_EXTENTS, keyedBatch, keyedRecordById } from './helpers/maintenance-records.ts';

const KILLS = 100;
/** A new database file every this many kills: the other kills reopen a file that earlier maintenance shaped. */
const KILLS_PER_FILE = 10;
const LINE_TIMEOUT_MS = 30_000;
const KINDS = ['compaction', 'retention', 'vacuum'] as const;
const MAINTENANCE_CALLS = ['compacting', 'retaining', 'vacuuming'] as const;
/**
 * Kills (by their place among a file's kills) that wait for a completed call of this kind that did work.
 * Retention is not among them: the writer's handle runs it by itself after every filled extent, so its
 * `runRetention` calls rarely find work; the logStartOffsets show it at work after about half the kills.
 */
const AWAIT_WORK: Readonly<Partial<Record<number, string>>> = { 3: 'compacted', 8: 'vacuumed' };
const WORK_TIMEOUT_MS = 60_000;

interface Ack {
  readonly id: string;
  readonly lastOffset: number;
}

/** What a check found in a reopened file, compared with the next check's to see which maintenance did work. */
interface Snapshot {
  /** Offsets of the compacted topic's records. */
  readonly keyed: ReadonlySet<number>;
  /** The delete topic's logStartOffset per partition. */
  readonly starts: readonly number[];
  /** Physical extent index of every sealed extent of the delete and keep topics, by `topic-partition@firstOffset`. */
  readonly sealed: ReadonlyMap<string, number>;
}

interface FileState {
  readonly path: string;
  /** Compacted topic, per key: the highest offset acknowledged or found by a check, and what it holds (null: a tombstone). */
  readonly latest: Map<string, { offset: number; value: string | null }>;
  /** Compacted topic: the id of the record acknowledged at each offset. */
  readonly keyedAcks: Map<number, string>;
  /** Delete and keep topics: batches acknowledged or found by a check, per partition by base offset (those below logStartOffset dropped). */
  readonly acks: Readonly<Record<string, Map<number, Ack>[]>>;
  previous: Snapshot | null;
}

function newFileState(dir: string, run: number): FileState {
  const perPartition = (): Map<number, Ack>[] => Array.from({ length: CRASH_PARTITIONS }, () => new Map<number, Ack>());
  return {
    path: path.join(dir, `maintenance-${String(run)}.onelog`),
    latest: new Map(),
    keyedAcks: new Map(),
    acks: { [DELETE_TOPIC]: perPartition(), [KEEP_TOPIC]: perPartition() },
    previous: null,
  };
}

/** Takes one `ack ...` line of run `run` into the file's state. */
function takeAck(state: FileState, run: number, line: string): void {
  const [, topic, ...numbers] = line.split(' ');
  const n = numbers.map(Number);
  if (topic === COMPACT_TOPIC) {
    const [baseOffset, producer, seq] = n;
    keyedBatch({ run, producer: producer!, seq: seq! }).forEach((r, i) => {
      const offset = baseOffset! + i;
      state.keyedAcks.set(offset, r.id);
      const previous = state.latest.get(r.key);
      if (previous === undefined || previous.offset < offset) state.latest.set(r.key, { offset, value: r.value });
    });
    return;
  }
  const [partition, baseOffset, lastOffset, producer, seq] = n;
  const acks = state.acks[topic!];
  assert.ok(acks !== undefined, `unexpected line ${line}`);
  acks[partition!]!.set(baseOffset!, { id: formatBatchId({ run, producer: producer!, seq: seq! }), lastOffset: lastOffset! });
}


/**
 * The delete or keep topic: logStartOffset is the first extent's first offset (0 without retention), offsets
 * run contiguously from there to the highWatermark, every batch is byte for byte one that was appended to
 * that partition, every batch acknowledged or found by an earlier check is there at its offset when at or
 * above logStartOffset. Adds the sealed extents to `sealed`; returns the logStartOffset per partition.
 */
function checkBatches(db: Engine, topic: string, acks: Map<number, Ack>[], retained: boolean, sealed: Map<string, number>, what: string): number[] {
  const starts: number[] = [];
  for (let p = 0; p < CRASH_PARTITIONS; p++) {
    const where = `${what}: ${topic}-${String(p)}`;
    const start = db.logStartOffset(topic, p);
    const extents = db.layout().partitions.find((x) => x.topic === topic && x.partition === p)!.extents;
    for (const [index, first] of extents.slice(0, -1)) sealed.set(`${topic}-${String(p)}@${String(first)}`, index);
    assert.equal(start, extents[0]?.[1] ?? 0, `${where}: logStartOffset is not its first extent's first offset`);
    if (!retained) assert.equal(start, 0, `${where}: a topic without retention lost its head`);
    // Retention frees only while the partition keeps retention.bytes; recovery may cut an unwritten tail.
    if (start > 0) assert.ok(extents.length >= RETENTION_EXTENTS - 1, `${where}: retention left only ${String(extents.length)} extents`);
    starts.push(start);
    const batches = batchesFrom(db, topic, p, start);
    let expected = start;
    for (const [offset, batch] of batches) {
      assert.equal(offset, expected, `${where}: offsets not contiguous`);
      const records = decodeRecords(batch);
      const header = records[0]?.headers[0];
      assert.ok(header?.key === ID_HEADER && header.value !== null, `${where}: batch at ${String(offset)} without an id header`);
      const id = parseBatchId(header.value.toString());
      assert.ok(id !== null, `${where}: batch at ${String(offset)} has a malformed id`);
      const appended = crashBatch(id);
      assert.equal(appended.partition, p, `${where}: batch ${formatBatchId(id)} in another partition`);
      assert.ok(encodeBatch({ baseOffset: offset, records: appended.records }).equals(batch), `${where}: batch at ${String(offset)} differs from what was appended`);
      const ack = acks[p]!.get(offset);
      if (ack !== undefined) {
        assert.equal(formatBatchId(id), ack.id, `${where}: offset ${String(offset)} holds another batch than the acknowledged one`);
        assert.equal(offset + records.length - 1, ack.lastOffset, `${where}: batch at ${String(offset)} ends elsewhere than acknowledged`);
      }
      expected = offset + records.length;
    }
    assert.equal(expected, db.highWatermark(topic, p), `${where}: the batches end before the highWatermark`);
    for (const [offset, ack] of acks[p]!) {
      if (offset >= start) assert.ok(batches.has(offset), `${where}: batch ${ack.id} at ${String(offset)}, acknowledged or found before, is missing (logStartOffset ${String(start)})`);
      else acks[p]!.delete(offset);
    }
    // A batch recovery kept stays, acknowledged or not: later checks look for it too.
    for (const [offset, batch] of batches) {
      const records = decodeRecords(batch);
      acks[p]!.set(offset, { id: records[0]!.headers[0]!.value!.toString(), lastOffset: offset + records.length - 1 });
    }
  }
  return starts;
}

/**
 * The compacted topic: its log still starts at 0, every record is one that was appended (key and value
 * recomputed from its id header), an acknowledged offset holds the acknowledged record, and per key the
 * newest record stored is at or after the newest one known (acknowledged, or found by an earlier check),
 * which is there unless superseded; a tombstone may be gone, but then so is every older record of its key.
 * The newest record per key found here is known from now on: a record the writer appended but had not
 * acknowledged when killed (a tombstone, say) is there for good once recovery kept it. Returns the offsets stored.
 */
function checkCompacted(db: Engine, state: FileState, what: string): Set<number> {
  assert.equal(db.logStartOffset(COMPACT_TOPIC, 0), 0, `${what}: the compacted topic's log start moved`);
  const newest = new Map<string, { offset: number; value: string | null }>();
  const offsets = new Set<number>();
  let previous = -1;
  const hw = db.highWatermark(COMPACT_TOPIC, 0);
  for (let offset = 0; offset < hw; ) {
    const res = db.read(COMPACT_TOPIC, 0, offset, { maxBytes: 256 * 1024 });
    for (let pos = 0; pos < res.records.length; pos += batchTotalSize(res.records, pos)) {
      for (const r of decodeRecords(res.records, pos)) {
        assert.ok(r.offset > previous, `${what}: compacted offsets must increase`);
        previous = r.offset;
        const header = r.headers[0];
        assert.ok(header?.key === ID_HEADER && header.value !== null, `${what}: compacted record at ${String(r.offset)} without an id header`);
        const id = header.value.toString();
        const want = keyedRecordById(id);
        assert.ok(want !== null, `${what}: compacted record at ${String(r.offset)} has an unknown id ${id}`);
        assert.equal(r.key?.toString(), want.key, `${what}: compacted record ${id} has another key`);
        assert.equal(r.value?.toString() ?? null, want.value, `${what}: compacted record ${id} has another value`);
        const acked = state.keyedAcks.get(r.offset);
        if (acked !== undefined) assert.equal(id, acked, `${what}: compacted offset ${String(r.offset)} holds another record than the acknowledged one`);
        newest.set(want.key, { offset: r.offset, value: want.value });
        offsets.add(r.offset);
      }
    }
    offset = res.nextOffset;
  }
  for (const [key, known] of state.latest) {
    const last = newest.get(key)?.offset;
    if (known.value === null) assert.ok(last === undefined || last >= known.offset, `${what}: ${key} was deleted at ${String(known.offset)} but its older record at ${String(last)} is back`);
    else assert.ok(last !== undefined && last >= known.offset, `${what}: the latest value of ${key} at ${String(known.offset)} is gone (newest stored: ${String(last)})`);
  }
  for (const [key, r] of newest) if ((state.latest.get(key)?.offset ?? -1) < r.offset) state.latest.set(key, r);
  return offsets;
}

/** Every check of a reopened file. */
function checkFile(db: Engine, state: FileState, what: string): Snapshot {
  assertAccounted(db, what);
  assert.deepEqual(verifyDatabase(db).damage, [], `${what}: verify found damage`);
  const keyed = checkCompacted(db, state, what);
  const sealed = new Map<string, number>();
  const starts = checkBatches(db, DELETE_TOPIC, state.acks[DELETE_TOPIC]!, true, sealed, what);
  checkBatches(db, KEEP_TOPIC, state.acks[KEEP_TOPIC]!, false, sealed, what);
  return { keyed, starts, sealed };
}

/** Which maintenance the file shows done between two checks: compacted records gone, a log start moved, a sealed extent moved. */
function workBetween(before: Snapshot, after: Snapshot): { compaction: boolean; retention: boolean; vacuum: boolean } {
  return {
    compaction: [...before.keyed].some((offset) => !after.keyed.has(offset)),
    retention: after.starts.some((start, p) => start > before.starts[p]!),
    vacuum: [...before.sealed].some(([extent, index]) => after.sealed.has(extent) && after.sealed.get(extent) !== index),
  };
}

interface Writer {
  readonly child: ChildScript;
  readonly lines: string[];
  readonly ready: Promise<string>;
  /** Maintenance calls begun and not yet reported done, as the lines read so far tell. */
  readonly running: Set<string>;
}

function startWriter(live: Set<ChildScript>): Writer {
  const lines: string[] = [];
  const running = new Set<string>();
  const child = startChild('maintenance-writer.ts', [], (line) => {
    lines.push(line);
    const [word] = line.split(' ');
    if (word === 'compacting' || word === 'retaining' || word === 'vacuuming') running.add(word);
    else if (word === 'compacted') running.delete('compacting');
    else if (word === 'retained') running.delete('retaining');
    else if (word === 'vacuumed') running.delete('vacuuming');
  });
  live.add(child);
  const ready = child.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS);
  ready.catch(() => undefined);
  return { child, lines, ready, running };
}

test('a writer SIGKILLed while compaction, retention and vacuum run loses no acknowledged live record and leaks no extent', { timeout: 300_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-maintenance-crash-'));
  const live = new Set<ChildScript>();
  t.after(() => {
    for (const child of live) child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // Kills after which each maintenance kind was found to have done work since the previous check.
  const worked = { compaction: 0, retention: 0, vacuum: 0 };
  // What the writers' completed calls reported in all.
  const reported = { compaction: 0, retention: 0, vacuum: 0 };
  const killedDuring = new Map<string, number>();
  let acked = 0;
  // The next writer starts while the current one runs, so that Node's start-up overlaps a run.
  let spare = startWriter(live);
  let state = newFileState(dir, 0);
  for (let run = 0; run < KILLS; run++) {
    if (run % KILLS_PER_FILE === 0) state = newFileState(dir, run);
    const what = `run ${String(run)} (${path.basename(state.path)})`;
    const writer = spare;
    spare = startWriter(live);
    await writer.ready;
    // Most kills land at a varied time; some only after a call of one kind completed with work, so that each
    // kind is seen at work however slowly a loaded machine runs the writer.
    const awaited = AWAIT_WORK[run % KILLS_PER_FILE];
    const work = awaited === undefined ? null : writer.child.waitForLine((l) => l.startsWith(`${awaited} `) && Number(l.split(' ')[1]) > 0, WORK_TIMEOUT_MS);
    work?.catch(() => undefined);
    writer.child.send(`go ${state.path} ${String(run)}`);
    await writer.child.waitForLine((l) => l === 'start', LINE_TIMEOUT_MS);
    if (work === null) await sleep(40 + ((run * 37) % 200));
    else {
      await work;
      await sleep((run * 7) % 20);
    }
    for (const call of writer.running) killedDuring.set(call, (killedDuring.get(call) ?? 0) + 1);
    writer.child.kill();
    const exit = await writer.child.exited;
    live.delete(writer.child);
    assert.equal(exit.signal, 'SIGKILL', `${what}: the writer died on its own: ${writer.child.stderr()}`);
    // What the writer's completed calls reported: records removed, extents freed, extents moved.
    const did = { compaction: 0, retention: 0, vacuum: 0 };
    for (const line of writer.lines) {
      const [word, count] = line.split(' ');
      if (word === 'ack') {
        takeAck(state, run, line);
        acked++;
      } else if (word === 'compacted') did.compaction += Number(count);
      else if (word === 'retained') did.retention += Number(count);
      else if (word === 'vacuumed') did.vacuum += Number(count);
    }
    const db = await Engine.open(state.path, CRASH_ENGINE_OPTIONS);
    try {
      const snapshot = checkFile(db, state, what);
      // Maintenance also runs on its own in the writer (after every extent a partition fills), and a call
      // killed midway may have finished steps: what the file shows counts as well as what calls reported.
      const shown = state.previous === null ? null : workBetween(state.previous, snapshot);
      for (const kind of KINDS) {
        reported[kind] += did[kind];
        if (did[kind] > 0 || shown?.[kind] === true) worked[kind]++;
      }
      state.previous = snapshot;
      if (run % KILLS_PER_FILE === KILLS_PER_FILE - 1) {
        // The file's last kill: vacuum leaves no free extent and cuts whatever a crash left past the last one.
        await db.vacuum();
        const after = db.stats();
        assert.equal(after.freeExtents, 0, `${what}: free extents left after vacuum`);
        // Extents at the end are written lazily: the file may end inside its last extent, never past it.
        assert.ok(after.fileSize <= DATA_START + after.extentCount * after.extentSize, `${what}: the vacuumed file holds bytes past its ${String(after.extentCount)} extents`);
        checkFile(db, state, `${what}, vacuumed`);
      }
    } finally {
      await db.close();
    }
  }
  spare.child.kill();
  const during = MAINTENANCE_CALLS.map((call) => `${call} ${String(killedDuring.get(call) ?? 0)}`).join(', ');
  t.diagnostic(
    `${String(KILLS)} kills, ${String(acked)} acknowledged appends, extents of ${String(CRASH_EXTENT_SIZE)} bytes; ` +
      `work found after ${String(worked.compaction)} kills by compaction, ${String(worked.retention)} by retention, ${String(worked.vacuum)} by vacuum; ` +
      `completed calls removed ${String(reported.compaction)} records, freed ${String(reported.retention)} extents, moved ${String(reported.vacuum)} extents; ` +
      `kills mid-call: ${during}`,
  );
  assert.ok(worked.compaction > 0, 'compaction never removed a record: the test did not exercise it');
  assert.ok(worked.retention > 0, 'retention never freed an extent: the test did not exercise it');
  assert.ok(worked.vacuum > 0, 'vacuum never moved an extent: the test did not exercise it');
});
