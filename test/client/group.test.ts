// Consumer groups in one process: the coordinator's Kafka group protocol (join rounds and generations,
// leader-computed assignments passed through as opaque bytes, heartbeat answers, session expiry and
// rebalance deadlines under a controlled clock, static members, describe/list/delete), offset fencing
// (typed errors for old generations and unknown members), and live groups of embedded consumers sharing
// partitions with eager and cooperative rebalances, a rebalance in the middle of a batch, a consumer with
// the wrong assigners, and a foreign member whose subscription bytes do not decode.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/storage/engine.ts';
import { OnelogError } from '../../src/errors.ts';
import { GroupCoordinator, type JoinGroupRequest, type JoinGroupResult } from '../../src/client/group-coordinator.ts';
import { Consumer } from '../../src/client/consumer.ts';
import { PartitionAssigners, decodeAssignment } from '../../src/client/assignors.ts';

async function openTemp(t: TestContext): Promise<Engine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-group-'));
  const engine = await Engine.open(path.join(dir, 'db.onelog'));
  t.after(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return engine;
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

function request(memberId: string, protocols: { name: string; metadata: string }[] = [{ name: 'p', metadata: 'meta' }], extra: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId,
    protocolType: 'consumer',
    protocols: protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    ...extra,
  };
}

function joined(r: JoinGroupResult): Extract<JoinGroupResult, { error: 'NONE' }> {
  assert.equal(r.error, 'NONE');
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('join and sync: generations, the leader sees every member\'s metadata, assignments pass through as opaque bytes', async (t) => {
  const engine = await openTemp(t);
  const coord = new GroupCoordinator(engine);
  const a = joined(await coord.joinGroup(request('', [{ name: 'p', metadata: 'A-meta' }])));
  assert.equal(a.generationId, 1);
  assert.equal(a.leader, a.memberId);
  assert.deepEqual(a.members.map((m) => m.metadata.toString()), ['A-meta']);
  const syncA = await coord.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, assignments: [{ memberId: a.memberId, assignment: Buffer.from([1, 2, 3]) }] });
  assert.equal(syncA.error, 'NONE');
  assert.deepEqual([...syncA.assignment], [1, 2, 3]);
  assert.equal((await coord.heartbeat('g', 1, a.memberId)).error, 'NONE');

  // A second member starts a round; the first learns it from its heartbeat and rejoins.
  const joiningB = coord.joinGroup(request('', [{ name: 'p', metadata: 'B-meta' }]));
  await sleep(50);
  assert.equal((await coord.heartbeat('g', 1, a.memberId)).error, 'REBALANCE_IN_PROGRESS');
  const a2 = joined(await coord.joinGroup(request(a.memberId, [{ name: 'p', metadata: 'A-meta' }])));
  const b = joined(await joiningB);
  assert.equal(a2.generationId, 2);
  assert.equal(b.generationId, 2);
  assert.equal(b.leader, a.memberId, 'the leader stays the leader');
  assert.deepEqual(b.members, [], 'followers do not get the member list');
  assert.deepEqual(a2.members.map((m) => m.metadata.toString()).sort(), ['A-meta', 'B-meta']);

  // The follower's sync waits for the leader's.
  const syncingB = coord.syncGroup({ groupId: 'g', generationId: 2, memberId: b.memberId, assignments: [] });
  await sleep(30);
  assert.equal(coord.describeGroup('g').state, 'CompletingRebalance');
  await coord.syncGroup({
    groupId: 'g',
    generationId: 2,
    memberId: a.memberId,
    assignments: [
      { memberId: a.memberId, assignment: Buffer.from('for-a') },
      { memberId: b.memberId, assignment: Buffer.from('for-b') },
    ],
  });
  const syncB = await syncingB;
  assert.equal(syncB.error === 'NONE' ? syncB.assignment.toString() : syncB.error, 'for-b');
  assert.equal(syncB.error === 'NONE' ? syncB.protocolName : '', 'p');

  // Heartbeat answers: old generation, unknown member.
  assert.equal((await coord.heartbeat('g', 1, a.memberId)).error, 'ILLEGAL_GENERATION');
  assert.equal((await coord.heartbeat('g', 2, 'nobody')).error, 'UNKNOWN_MEMBER_ID');
  assert.equal((await coord.heartbeat('no-such-group', 2, a.memberId)).error, 'UNKNOWN_MEMBER_ID');

  const description = coord.describeGroup('g');
  assert.equal(description.state, 'Stable');
  assert.equal(description.generationId, 2);
  assert.deepEqual(description.members.map((m) => m.memberAssignment.toString()).sort(), ['for-a', 'for-b']);

  // Leaving starts a round for those who stay; the last one out empties the group.
  const left = await coord.leaveGroup('g', [{ memberId: b.memberId }, { memberId: 'ghost' }]);
  assert.deepEqual(left.members.map((m) => m.error), ['NONE', 'UNKNOWN_MEMBER_ID']);
  assert.equal(coord.describeGroup('g').state, 'PreparingRebalance');
  await coord.leaveGroup('g', [{ memberId: a.memberId }]);
  assert.equal(coord.describeGroup('g').state, 'Empty');
  assert.deepEqual(coord.listGroups(), [{ groupId: 'g', protocolType: '', state: 'Empty' }]);
});

test('a known follower rejoining with the same metadata keeps its generation; a changed one starts a round', async (t) => {
  const engine = await openTemp(t);
  const coord = new GroupCoordinator(engine);
  const a = joined(await coord.joinGroup(request('')));
  const joiningB = coord.joinGroup(request(''));
  await sleep(30);
  joined(await coord.joinGroup(request(a.memberId)));
  const b = joined(await joiningB);
  await coord.syncGroup({ groupId: 'g', generationId: b.generationId, memberId: a.memberId, assignments: [] });
  const again = joined(await coord.joinGroup(request(b.memberId)));
  assert.equal(again.generationId, b.generationId);
  assert.equal(coord.describeGroup('g').state, 'Stable');
  const changing = coord.joinGroup(request(b.memberId, [{ name: 'p', metadata: 'new' }]));
  await sleep(30);
  assert.equal(coord.describeGroup('g').state, 'PreparingRebalance');
  await coord.joinGroup(request(a.memberId));
  assert.equal(joined(await changing).generationId, b.generationId + 1);
});

test('protocols: the one all members support that most prefer; a member with none in common is refused', async (t) => {
  const engine = await openTemp(t);
  const coord = new GroupCoordinator(engine);
  const a = coord.joinGroup(request('', [{ name: 'x', metadata: '' }, { name: 'y', metadata: '' }]));
  const first = joined(await a);
  const b = coord.joinGroup(request('', [{ name: 'y', metadata: '' }, { name: 'z', metadata: '' }]));
  await sleep(30);
  const a2 = joined(await coord.joinGroup(request(first.memberId, [{ name: 'x', metadata: '' }, { name: 'y', metadata: '' }])));
  assert.equal(a2.protocolName, 'y');
  assert.equal(joined(await b).protocolName, 'y');
  const refused = await coord.joinGroup(request('', [{ name: 'q', metadata: '' }]));
  assert.equal(refused.error, 'INCONSISTENT_GROUP_PROTOCOL');
  const wrongType = await coord.joinGroup(request('', [{ name: 'y', metadata: '' }], { protocolType: 'connect' }));
  assert.equal(wrongType.error, 'INCONSISTENT_GROUP_PROTOCOL');
});

test('session expiry: a silent member is removed by the next member that touches the group, and a round starts', async (t) => {
  const engine = await openTemp(t);
  const clock = manualClock();
  const coord = new GroupCoordinator(engine, { clock: clock.now });
  const a = joined(await coord.joinGroup(request('', undefined, { sessionTimeoutMs: 3000 })));
  const joiningB = coord.joinGroup(request('', undefined, { sessionTimeoutMs: 3000 }));
  await sleep(30);
  joined(await coord.joinGroup(request(a.memberId, undefined, { sessionTimeoutMs: 3000 })));
  const b = joined(await joiningB);
  await coord.syncGroup({ groupId: 'g', generationId: b.generationId, memberId: a.memberId, assignments: [] });
  await coord.syncGroup({ groupId: 'g', generationId: b.generationId, memberId: b.memberId, assignments: [] });

  clock.advance(2000);
  assert.equal((await coord.heartbeat('g', b.generationId, b.memberId)).error, 'NONE');
  assert.equal(coord.memberStatus('g', b.generationId, a.memberId).error, 'NONE');
  clock.advance(1500); // a: 3500 ms silent (> 3000); b: 1500 ms.
  assert.equal(coord.memberStatus('g', b.generationId, a.memberId).error, 'UNKNOWN_MEMBER_ID', 'a member past its session is not a member, even before removal');
  assert.equal(coord.memberStatus('g', b.generationId, b.memberId).housekeepingDue, true);
  assert.equal((await coord.heartbeat('g', b.generationId, b.memberId)).error, 'REBALANCE_IN_PROGRESS');
  assert.deepEqual(coord.describeGroup('g').members.map((m) => m.memberId), [b.memberId]);
  const alone = joined(await coord.joinGroup(request(b.memberId, undefined, { sessionTimeoutMs: 3000 })));
  assert.equal(alone.generationId, b.generationId + 1);
  assert.equal(alone.leader, b.memberId, 'leadership moves to a live member');
  // The expired member's commits are fenced.
  const commit = await coord.commitOffsets({ groupId: 'g', generationId: b.generationId, memberId: a.memberId, offsets: [] });
  assert.equal(commit.error, 'UNKNOWN_MEMBER_ID');
});

test('rebalance deadline: members that do not rejoin within the rebalance timeout are dropped from the round', async (t) => {
  const engine = await openTemp(t);
  const clock = manualClock();
  const coord = new GroupCoordinator(engine, { clock: clock.now, pollIntervalMs: 5 });
  const a = joined(await coord.joinGroup(request('', undefined, { rebalanceTimeoutMs: 5000, sessionTimeoutMs: 60_000 })));
  await coord.syncGroup({ groupId: 'g', generationId: a.generationId, memberId: a.memberId, assignments: [] });
  let settled = false;
  const joiningB = coord.joinGroup(request('', undefined, { rebalanceTimeoutMs: 5000, sessionTimeoutMs: 60_000 })).finally(() => (settled = true));
  await sleep(50);
  assert.equal(settled, false, 'the round waits for the known member');
  clock.advance(5001);
  const b = joined(await joiningB);
  assert.equal(b.generationId, a.generationId + 1);
  assert.equal(b.leader, b.memberId);
  assert.deepEqual(coord.describeGroup('g').members.map((m) => m.memberId), [b.memberId]);
  assert.equal((await coord.heartbeat('g', a.generationId, a.memberId)).error, 'UNKNOWN_MEMBER_ID');
});

test('a leader that never syncs is removed at the deadline and the followers rebalance', async (t) => {
  const engine = await openTemp(t);
  const clock = manualClock();
  const coord = new GroupCoordinator(engine, { clock: clock.now, pollIntervalMs: 5 });
  const opts = { rebalanceTimeoutMs: 4000, sessionTimeoutMs: 60_000 };
  const a = joined(await coord.joinGroup(request('', undefined, opts)));
  const joiningB = coord.joinGroup(request('', undefined, opts));
  await sleep(30);
  joined(await coord.joinGroup(request(a.memberId, undefined, opts)));
  const b = joined(await joiningB);
  const syncingB = coord.syncGroup({ groupId: 'g', generationId: b.generationId, memberId: b.memberId, assignments: [] });
  await sleep(30);
  clock.advance(4001);
  const result = await syncingB;
  assert.equal(result.error, 'REBALANCE_IN_PROGRESS');
  assert.deepEqual(coord.describeGroup('g').members.map((m) => m.memberId), [b.memberId]);
});

test('static membership: a new instance with the same groupInstanceId replaces the old member', async (t) => {
  const engine = await openTemp(t);
  const coord = new GroupCoordinator(engine);
  const first = joined(await coord.joinGroup(request('', undefined, { groupInstanceId: 'instance-1' })));
  const second = joined(await coord.joinGroup(request('', undefined, { groupInstanceId: 'instance-1' })));
  assert.notEqual(second.memberId, first.memberId);
  assert.deepEqual(coord.describeGroup('g').members.map((m) => m.memberId), [second.memberId]);
  assert.equal((await coord.heartbeat('g', second.generationId, first.memberId)).error, 'UNKNOWN_MEMBER_ID');
  const left = await coord.leaveGroup('g', [{ memberId: '', groupInstanceId: 'instance-1' }]);
  assert.deepEqual(left.members, [{ memberId: second.memberId, groupInstanceId: 'instance-1', error: 'NONE' }]);
});

test('a join cancelled through its signal leaves no member behind', async (t) => {
  const engine = await openTemp(t);
  const coord = new GroupCoordinator(engine);
  const a = joined(await coord.joinGroup(request('')));
  const controller = new AbortController();
  const joiningB = coord.joinGroup(request(''), { signal: controller.signal });
  await sleep(30);
  assert.equal(coord.describeGroup('g').members.length, 2);
  controller.abort();
  await assert.rejects(joiningB, (err: unknown) => err instanceof OnelogError && err.code === 'CLOSED');
  assert.deepEqual(coord.describeGroup('g').members.map((m) => m.memberId), [a.memberId]);
});

test('offset commits are fenced: old generation, unknown member, completing rebalance; memberless commits only while empty', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('t', { partitions: 2 });
  const coord = new GroupCoordinator(engine);
  const offsets = [{ topic: 't', partition: 0, offset: 0 }];
  assert.equal((await coord.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', offsets })).error, 'NONE', 'no group yet');
  const a = joined(await coord.joinGroup(request('')));
  // Generation 1 is completing (the leader has not synced): commits wait for the assignment.
  assert.equal((await coord.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, offsets })).error, 'REBALANCE_IN_PROGRESS');
  await coord.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, assignments: [] });
  assert.equal((await coord.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, offsets: [{ topic: 't', partition: 0, offset: 0 }] })).error, 'NONE');
  assert.equal((await coord.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', offsets })).error, 'UNKNOWN_MEMBER_ID', 'the group has a member');

  // A second member joins: during the round the current generation may still commit (cooperative members do).
  const joiningB = coord.joinGroup(request(''));
  await sleep(30);
  assert.equal((await coord.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, offsets: [{ topic: 't', partition: 0, offset: 1 }] })).error, 'NONE');
  joined(await coord.joinGroup(request(a.memberId)));
  const b = joined(await joiningB);
  await coord.syncGroup({ groupId: 'g', generationId: 2, memberId: a.memberId, assignments: [] });
  const fenced = await coord.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, offsets: [{ topic: 't', partition: 0, offset: 99 }] });
  assert.equal(fenced.error, 'ILLEGAL_GENERATION');
  const stranger = await coord.commitOffsets({ groupId: 'g', generationId: 2, memberId: 'stranger', offsets: [{ topic: 't', partition: 0, offset: 99 }] });
  assert.equal(stranger.error, 'UNKNOWN_MEMBER_ID');
  assert.equal((await coord.commitOffsets({ groupId: 'g', generationId: 2, memberId: b.memberId, offsets: [{ topic: 't', partition: 1, offset: 0 }] })).error, 'NONE');
  assert.deepEqual(
    coord.fetchOffsets('g').map((o) => [o.partition, o.offset]),
    [
      [0, 1],
      [1, 0],
    ],
  );
  assert.deepEqual(coord.fetchOffsets('g', [{ topic: 't', partitions: [1] }]).map((o) => o.partition), [1]);
  assert.equal((await coord.deleteGroup('g')).error, 'NON_EMPTY_GROUP');
  await coord.leaveGroup('g', [{ memberId: a.memberId }, { memberId: b.memberId }]);
  assert.equal((await coord.deleteGroup('g')).error, 'NONE');
  assert.deepEqual(coord.fetchOffsets('g'), []);
  assert.equal(coord.describeGroup('g').state, 'Dead');
  assert.equal((await coord.deleteGroup('g')).error, 'GROUP_ID_NOT_FOUND');
});

test('a consumer fenced out of its group gets a typed error from commitOffsets, then rejoins', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('t', { partitions: 1 });
  await engine.append('t', 0, [{ key: null, value: Buffer.from('x'), timestamp: Date.now() }]);
  const consumer = new Consumer(engine, { groupId: 'fence', heartbeatInterval: 60_000, sessionTimeout: 120_000 });
  t.after(() => consumer.disconnect());
  const coord = new GroupCoordinator(engine);
  let fencedError: unknown = null;
  let fencedMember = '';
  let committedAfterFence = -1;
  let redelivered = false;
  await consumer.subscribe({ topics: ['t'], fromBeginning: true });
  await consumer.run({
    eachMessage: async () => {
      if (fencedMember !== '') {
        redelivered = true;
        return;
      }
      await consumer.commitOffsets([{ topic: 't', partition: 0, offset: '0' }]);
      // An administrator (or an expired session) removes the member behind its back, mid-message.
      fencedMember = coord.describeGroup('fence').members[0]!.memberId;
      await coord.leaveGroup('fence', [{ memberId: fencedMember }]);
      try {
        await consumer.commitOffsets([{ topic: 't', partition: 0, offset: '1' }]);
      } catch (err) {
        fencedError = err;
      }
      committedAfterFence = coord.fetchOffsets('fence')[0]!.offset;
    },
  });
  await waitUntil('the fenced commit', () => fencedError !== null && committedAfterFence >= 0);
  assert.ok(fencedError instanceof OnelogError && fencedError.code === 'UNKNOWN_MEMBER_ID', String(fencedError));
  assert.equal(committedAfterFence, 0, 'the fenced commit wrote nothing');
  // It notices within moments and joins again under a new member id; the record comes again (unhandled).
  await waitUntil('a new stable member', () => {
    const d = coord.describeGroup('fence');
    return d.state === 'Stable' && d.members.length === 1 && d.members[0]!.memberId !== fencedMember;
  });
  await waitUntil('the unhandled record delivered again', () => redelivered);
});

interface Seen {
  readonly by: string;
  readonly partition: number;
  readonly offset: number;
}

async function produce(engine: Engine, topic: string, partitions: number, count: number, start = 0): Promise<void> {
  for (let i = start; i < start + count; i++) {
    await engine.append(topic, i % partitions, [{ key: null, value: Buffer.from(String(i)), timestamp: Date.now() }]);
  }
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('three consumers in one process share six partitions: disjoint ownership, every record once through joins and leaves', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('shared', { partitions: 6 });
  const seen: Seen[] = [];
  const consumers = ['c1', 'c2', 'c3'].map((name) => {
    const c = new Consumer(engine, { groupId: 'trio', heartbeatInterval: 200, sessionTimeout: 3000 });
    return { name, c };
  });
  t.after(async () => {
    for (const { c } of consumers) await c.disconnect();
  });
  for (const { c } of consumers) await c.subscribe({ topics: ['shared'], fromBeginning: true });
  const start = async (i: number): Promise<void> => {
    const { name, c } = consumers[i]!;
    await c.run({ eachMessage: ({ partition, message }) => {
        seen.push({ by: name, partition, offset: Number(message.offset) });
        return Promise.resolve();
      },
    });
  };
  await produce(engine, 'shared', 6, 60);
  await start(0);
  await produce(engine, 'shared', 6, 60, 60);
  await start(1);
  await start(2);
  await produce(engine, 'shared', 6, 60, 120);
  const coord = new GroupCoordinator(engine);
  await waitUntil('three members stable', () => {
    const d = coord.describeGroup('trio');
    return d.state === 'Stable' && d.members.length === 3;
  });
  // Each partition is owned by exactly one member.
  const owners = consumers.flatMap(({ name, c }) => c.assignment().flatMap((tp) => tp.partitions.map((p) => ({ name, p }))));
  assert.deepEqual(owners.map((o) => o.p).sort(), [0, 1, 2, 3, 4, 5]);
  assert.ok(consumers.every(({ c }) => c.assignment()[0]!.partitions.length === 2));
  await waitUntil('all of the first 180 records', () => seen.length >= 180);
  await consumers[1]!.c.disconnect();
  await produce(engine, 'shared', 6, 60, 180);
  await waitUntil('the records after a member left', () => seen.length >= 240);
  await sleep(200);
  const keys = seen.map((s) => `${s.partition}/${s.offset}`);
  assert.equal(new Set(keys).size, keys.length, 'no record handled twice');
  assert.equal(keys.length, 240);
  assert.ok(new Set(seen.map((s) => s.by)).size === 3, 'every member handled records');
});

test('cooperative-sticky live: a member joining takes half, the partitions the first member keeps are never revoked', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('coop', { partitions: 6 });
  const options = { groupId: 'coop-group', heartbeatInterval: 200, sessionTimeout: 3000, partitionAssigners: [PartitionAssigners.cooperativeSticky] };
  const a = new Consumer(engine, options);
  const b = new Consumer(engine, options);
  t.after(async () => {
    await a.disconnect();
    await b.disconnect();
  });
  const revokedFromA: number[] = [];
  a.on(a.events.PARTITIONS_REVOKED, (e) => revokedFromA.push(...e.payload.topics.flatMap((tp) => tp.partitions)));
  const seenA: { partition: number; offset: number; at: number }[] = [];
  const seenB: { partition: number; offset: number }[] = [];
  await a.subscribe({ topics: ['coop'], fromBeginning: true });
  await b.subscribe({ topics: ['coop'], fromBeginning: true });
  await a.run({ eachMessage: ({ partition, message }) => {
      seenA.push({ partition, offset: Number(message.offset), at: Date.now() });
      return Promise.resolve();
    },
  });
  let producing = true;
  let produced = 0;
  const producer = (async () => {
    while (producing) {
      await produce(engine, 'coop', 6, 6, produced);
      produced += 6;
      await sleep(5);
    }
  })();
  await waitUntil('a consuming', () => seenA.length > 30);
  const rebalanceStarted = Date.now();
  await b.run({ eachMessage: ({ partition, message }) => {
      seenB.push({ partition, offset: Number(message.offset) });
      return Promise.resolve();
    },
  });
  await waitUntil('b owning three partitions', () => (b.assignment()[0]?.partitions.length ?? 0) === 3);
  const rebalanceEnded = Date.now();
  await sleep(300);
  producing = false;
  await producer;
  await waitUntil('everything consumed', () => seenA.length + seenB.length >= produced);

  const keptByA = a.assignment()[0]!.partitions;
  assert.equal(keptByA.length, 3);
  assert.deepEqual(revokedFromA.sort(), b.assignment()[0]!.partitions, 'a revoked exactly the partitions that moved to b');
  assert.ok(keptByA.every((p) => !revokedFromA.includes(p)));
  // A kept partition's offsets went on without a gap or a repeat through the rebalance.
  for (const p of keptByA) {
    const offsets = seenA.filter((s) => s.partition === p).map((s) => s.offset);
    assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p} consumed in order, once, without restart`);
  }
  const during = seenA.filter((s) => keptByA.includes(s.partition) && s.at >= rebalanceStarted && s.at <= rebalanceEnded);
  t.diagnostic(`a handled ${during.length} records of its kept partitions during the ${rebalanceEnded - rebalanceStarted} ms rebalance`);
  const all = [...seenA, ...seenB].map((s) => `${s.partition}/${s.offset}`);
  assert.equal(new Set(all).size, all.length, 'no record handled twice');
  assert.equal(all.length, produced);
});

test('eager rebalance mid-batch: heartbeat() throws REBALANCE_IN_PROGRESS, what was resolved is committed, the rest goes to the new owner', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('long', { partitions: 2 });
  for (let p = 0; p < 2; p++) await engine.append('long', p, Array.from({ length: 40 }, (_, i) => ({ key: null, value: Buffer.from(`${p}-${i}`), timestamp: Date.now() })));
  const options = { groupId: 'long-group', heartbeatInterval: 100, sessionTimeout: 5000 };
  const a = new Consumer(engine, options);
  const b = new Consumer(engine, options);
  t.after(async () => {
    await a.disconnect();
    await b.disconnect();
  });
  const handled: string[] = [];
  let thrown: unknown = null;
  let startB: (() => void) | null = null;
  const bStarted = new Promise<void>((resolve) => (startB = resolve));
  await a.subscribe({ topics: ['long'], fromBeginning: true });
  await b.subscribe({ topics: ['long'], fromBeginning: true });
  await a.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (const m of batch.messages) {
        handled.push(`${batch.partition}/${m.offset}`);
        resolveOffset(m.offset);
        if (handled.length === 5) startB!();
        await sleep(10);
        try {
          await heartbeat();
        } catch (err) {
          thrown = err;
          throw err;
        }
      }
    },
  });
  await bStarted;
  await b.run({
    eachMessage: ({ partition, message }) => {
      handled.push(`${partition}/${message.offset}`);
      return Promise.resolve();
    },
  });
  await waitUntil('all 80 records', () => new Set(handled).size === 80);
  await sleep(200);
  assert.ok(thrown instanceof OnelogError && thrown.code === 'REBALANCE_IN_PROGRESS', String(thrown));
  assert.equal(handled.length, 80, 'nothing handled twice');
});

test('a consumer whose assigners the group does not use cannot join: run() rejects with INVALID_CONFIG', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('proto', { partitions: 1 });
  const a = new Consumer(engine, { groupId: 'proto-group', partitionAssigners: [PartitionAssigners.roundRobin] });
  const b = new Consumer(engine, { groupId: 'proto-group', partitionAssigners: [PartitionAssigners.range] });
  t.after(async () => {
    await a.disconnect();
    await b.disconnect();
  });
  await a.subscribe({ topics: ['proto'] });
  await b.subscribe({ topics: ['proto'] });
  await a.run({ eachMessage: () => Promise.resolve() });
  const crashes: boolean[] = [];
  b.on(b.events.CRASH, (e) => crashes.push(e.payload.restart));
  await assert.rejects(
    b.run({ eachMessage: () => Promise.resolve() }),
    (err: unknown) => err instanceof OnelogError && err.code === 'INVALID_CONFIG',
  );
  await waitUntil('the crash event', () => crashes.length === 1);
  assert.deepEqual(crashes, [false]);
});

test('a foreign member with undecodable subscription metadata gets nothing; the embedded leader goes on', async (t) => {
  const engine = await openTemp(t);
  await engine.createTopic('mixed', { partitions: 2 });
  const consumer = new Consumer(engine, { groupId: 'mixed-group', heartbeatInterval: 100 });
  t.after(() => consumer.disconnect());
  await consumer.subscribe({ topics: ['mixed'] });
  await consumer.run({ eachMessage: () => Promise.resolve() });
  const coord = new GroupCoordinator(engine);
  const foreign = joined(
    await coord.joinGroup({
      groupId: 'mixed-group',
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'roundrobin', metadata: Buffer.from([0xde, 0xad]) }],
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
    }),
  );
  assert.notEqual(foreign.leader, foreign.memberId, 'the embedded consumer leads');
  const synced = await coord.syncGroup({ groupId: 'mixed-group', generationId: foreign.generationId, memberId: foreign.memberId, assignments: [] });
  assert.equal(synced.error, 'NONE');
  assert.deepEqual(decodeAssignment(synced.assignment).assignment, []);
  await waitUntil('the consumer owning both partitions', () => consumer.assignment()[0]?.partitions.length === 2);
  await coord.leaveGroup('mixed-group', [{ memberId: foreign.memberId }]);
});
