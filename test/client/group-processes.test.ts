// Consumer groups across processes sharing one file, no daemon: three member processes split a
// six-partition topic while the parent appends 100,000 records. SIGKILLing one member mid-way moves its
// partitions to the others within the session timeout and no record is lost (only the killed member's
// uncommitted records come twice); with orderly joins and leaves (disconnect commits and leaves), every
// record is handled exactly once. Offsets committed before a crash are where a restarted member begins.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { startChild, sleep, type ChildScript } from '../storage/helpers/child-script.ts';

const PARTITIONS = 6;
const TOPIC = 'events';
const SESSION_MS = 3000;
const HEARTBEAT_MS = 500;
const LINE_TIMEOUT_MS = 60_000;

/** Everything the members reported: who handled which record, and each member's latest assignment. */
class Reports {
  /** key `partition/offset` -> names of the members that handled it, in report order. */
  readonly handled = new Map<string, string[]>();
  readonly assignments = new Map<string, number[]>();
  /** Time each member first reported a record of each partition. */
  readonly firstSeen = new Map<string, Map<number, number>>();
  total = 0;

  line(name: string, line: string): void {
    if (line.startsWith('r ')) {
      const [, partition, offset] = line.split(' ');
      const key = `${partition}/${offset}`;
      const list = this.handled.get(key);
      if (list === undefined) this.handled.set(key, [name]);
      else list.push(name);
      this.total++;
      let seen = this.firstSeen.get(name);
      if (seen === undefined) this.firstSeen.set(name, (seen = new Map<number, number>()));
      if (!seen.has(Number(partition))) seen.set(Number(partition), Date.now());
    } else if (line.startsWith('assigned ')) {
      const list = line.split(' ')[2] ?? '';
      this.assignments.set(name, list === '' ? [] : list.split(',').map(Number));
    }
  }

  missing(highWatermarks: readonly number[]): string[] {
    const out: string[] = [];
    highWatermarks.forEach((hw, p) => {
      for (let o = 0; o < hw; o++) if (!this.handled.has(`${p}/${o}`)) out.push(`${p}/${o}`);
    });
    return out;
  }

  duplicates(): [string, string[]][] {
    return [...this.handled].filter(([, names]) => names.length > 1);
  }
}

async function setup(t: TestContext): Promise<{ file: string; engine: Engine; children: ChildScript[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-group-mp-'));
  const file = path.join(dir, 'db.onelog');
  const engine = await Engine.open(file);
  await engine.createTopic(TOPIC, { partitions: PARTITIONS });
  const children: ChildScript[] = [];
  t.after(async () => {
    for (const child of children) child.kill();
    await Promise.all(children.map((c) => c.exited));
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { file, engine, children };
}

function startMember(file: string, groupId: string, name: string, assigner: string, reports: Reports, children: ChildScript[], delayMs = 0): ChildScript {
  const args = [file, TOPIC, groupId, String(SESSION_MS), String(HEARTBEAT_MS), assigner, String(delayMs)];
  const child = startChild('../../client/helpers/group-member.ts', args, (line) => reports.line(name, line));
  children.push(child);
  return child;
}

/** Appends `count` records in batches of `batch`, spread over the partitions, pausing between appends. */
async function produce(engine: Engine, count: number, batch: number, pauseMs: number, onProgress: (produced: number) => Promise<void> = () => Promise.resolve()): Promise<void> {
  let produced = 0;
  for (let i = 0; produced < count; i++) {
    const n = Math.min(batch, count - produced);
    const records = Array.from({ length: n }, (_, j) => ({ key: null, value: Buffer.from(`record-${produced + j}`), timestamp: Date.now() }));
    await engine.append(TOPIC, i % PARTITIONS, records);
    produced += n;
    await onProgress(produced);
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out (${timeoutMs} ms) waiting for ${what}`);
    await sleep(20);
  }
}

function highWatermarks(engine: Engine): number[] {
  return Array.from({ length: PARTITIONS }, (_, p) => engine.highWatermark(TOPIC, p));
}

async function stopMember(child: ChildScript): Promise<void> {
  child.send('stop');
  await child.waitForLine((l) => l === 'stopped', LINE_TIMEOUT_MS);
  const exit = await child.exited;
  assert.equal(exit.code, 0, `member exited with ${String(exit.code)}: ${child.stderr()}`);
}

test('three member processes, 100,000 records, one SIGKILLed mid-way: its partitions move within the session timeout, nothing is lost', { timeout: 120_000 }, async (t) => {
  const { file, engine, children } = await setup(t);
  const reports = new Reports();
  const names = ['m0', 'm1', 'm2'];
  // The victim (m0) dwells on each batch after reporting it, so the kill finds records handled but not committed.
  const members = names.map((name, i) => startMember(file, 'crash-group', name, 'roundRobin', reports, children, i === 0 ? 50 : 0));
  await Promise.all(members.map((m) => m.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS)));
  await waitFor('each member owning two partitions', () => names.every((n) => reports.assignments.get(n)?.length === 2), 30_000);

  let killedAt = 0;
  let victimPartitions: number[] = [];
  await produce(engine, 100_000, 250, 5, async (produced) => {
    if (killedAt === 0 && produced >= 40_000) {
      // Wait until the victim has handled some of its records, then kill it without warning.
      await waitFor('the victim handling records', () => (reports.firstSeen.get('m0')?.size ?? 0) > 0, 30_000);
      victimPartitions = reports.assignments.get('m0') ?? [];
      members[0]!.kill();
      await members[0]!.exited;
      killedAt = Date.now();
    }
  });
  const hws = highWatermarks(engine);
  assert.equal(hws.reduce((a, b) => a + b, 0), 100_000);
  await waitFor('every record handled', () => reports.missing(hws).length === 0, 60_000);

  // The victim's partitions went to the survivors, within the session timeout (plus a heartbeat and the
  // rebalance itself, generously: the machine is shared with other suites).
  assert.equal(victimPartitions.length, 2);
  const survivorsOwn = [...(reports.assignments.get('m1') ?? []), ...(reports.assignments.get('m2') ?? [])].sort();
  assert.deepEqual(survivorsOwn, [0, 1, 2, 3, 4, 5]);
  const takeover = Math.max(
    ...victimPartitions.map((p) => {
      const times = ['m1', 'm2'].map((n) => reports.firstSeen.get(n)?.get(p)).filter((x): x is number => x !== undefined && x >= killedAt);
      return Math.min(...times) - killedAt;
    }),
  );
  t.diagnostic(`victim partitions ${victimPartitions.join(',')} taken over ${takeover} ms after the kill (session timeout ${SESSION_MS} ms)`);
  assert.ok(takeover < SESSION_MS + 10_000, `takeover after ${takeover} ms`);

  // Records handled twice: only ones the victim handled without committing, re-handled by a survivor.
  const duplicates = reports.duplicates();
  t.diagnostic(`${duplicates.length} records handled twice (all on the victim's partitions, uncommitted at the kill)`);
  for (const [key, handlers] of duplicates) {
    assert.ok(handlers.includes('m0') && handlers.filter((h) => h === 'm0').length === 1 && handlers.length === 2, `${key} handled by ${handlers.join(',')}`);
    assert.ok(victimPartitions.includes(Number(key.split('/')[0])), `${key} is not on a victim partition`);
  }
  for (const m of members.slice(1)) await stopMember(m);
  assert.deepEqual(
    engine.fetchOffsets('crash-group').map((o) => o.offset),
    hws,
    'the survivors committed everything on the way out',
  );
});

test('orderly joins and leaves across processes (cooperative-sticky): every record handled exactly once', { timeout: 120_000 }, async (t) => {
  const { file, engine, children } = await setup(t);
  const reports = new Reports();
  const first = startMember(file, 'orderly-group', 'a', 'cooperativeSticky', reports, children);
  const second = startMember(file, 'orderly-group', 'b', 'cooperativeSticky', reports, children);
  await Promise.all([first, second].map((m) => m.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS)));
  let third: ChildScript | null = null;
  let leftAt = 0;
  await produce(engine, 30_000, 100, 5, async (produced) => {
    if (third === null && produced >= 8_000) {
      third = startMember(file, 'orderly-group', 'c', 'cooperativeSticky', reports, children);
      await third.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS);
    }
    if (leftAt === 0 && produced >= 18_000) {
      await stopMember(first);
      leftAt = Date.now();
    }
  });
  const hws = highWatermarks(engine);
  await waitFor('every record handled', () => reports.missing(hws).length === 0, 60_000);
  await sleep(300);
  assert.deepEqual(reports.duplicates().slice(0, 5), [], 'no record handled twice');
  assert.equal(reports.total, 30_000);
  assert.ok(['a', 'b', 'c'].every((n) => (reports.firstSeen.get(n)?.size ?? 0) > 0), 'every member handled records');
  await stopMember(second);
  await stopMember(third!);
  assert.deepEqual(engine.fetchOffsets('orderly-group').map((o) => o.offset), hws);
});

test('offsets committed before a crash are where the restarted member begins', { timeout: 60_000 }, async (t) => {
  const { file, engine, children } = await setup(t);
  const before = new Reports();
  await produce(engine, 600, 50, 0);
  const victim = startMember(file, 'restart-group', 'v', 'range', before, children);
  await victim.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS);
  await waitFor('all 600 handled', () => before.handled.size === 600, 30_000);
  await waitFor('all committed', () => engine.fetchOffsets('restart-group').reduce((n, o) => n + o.offset, 0) === 600, 30_000);
  await produce(engine, 120, 20, 0);
  await waitFor('the new records handled', () => before.handled.size === 720, 30_000);
  victim.kill();
  await victim.exited;
  const committed = new Map(engine.fetchOffsets('restart-group').map((o) => [o.partition, o.offset]));
  assert.equal(committed.size, PARTITIONS);

  const after = new Reports();
  const restarted = startMember(file, 'restart-group', 'r', 'range', after, children);
  await restarted.waitForLine((l) => l === 'ready', LINE_TIMEOUT_MS);
  const hws = highWatermarks(engine);
  // The restarted member handles exactly the records from each committed offset on.
  const expected = hws.reduce((n, hw, p) => n + hw - committed.get(p)!, 0);
  await waitFor('the uncommitted tail', () => after.handled.size === expected, 30_000);
  await sleep(200);
  assert.equal(after.handled.size, expected);
  for (const key of after.handled.keys()) {
    const [p, o] = key.split('/').map(Number) as [number, number];
    assert.ok(o >= committed.get(p)!, `${key} is below the committed offset ${committed.get(p)}`);
  }
  await stopMember(restarted);
});
